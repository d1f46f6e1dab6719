package opcua

import (
	"testing"

	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/drivers/drivertest"
)

// TestValidate checks the OPC UA keys of a device and its points, through
// the common entry point drivers.DeviceConfig.Validate.
func TestValidate(t *testing.T) {
	opcua := func(mod func(*drivers.DeviceConfig)) drivers.DeviceConfig {
		d := drivers.DeviceConfig{Name: "o", Protocol: drivers.ProtocolOPCUA, Endpoint: "opc.tcp://h:4840", Points: []drivers.PointConfig{{Tag: "a", Node: "ns=2;s=A"}}}
		mod(&d)
		return d
	}
	point := func(p drivers.PointConfig) func(*drivers.DeviceConfig) {
		return func(d *drivers.DeviceConfig) { d.Points = []drivers.PointConfig{p} }
	}
	cases := []struct {
		name string
		cfg  drivers.DeviceConfig
		want []string // paths of the errors, empty for a valid config
	}{
		{"valid opcua", opcua(func(*drivers.DeviceConfig) {}), nil},
		{"modbus keys on opcua", opcua(func(d *drivers.DeviceConfig) { d.ReadGap = 2 }), []string{"protocol"}},
		{"policy without mode", opcua(func(d *drivers.DeviceConfig) {
			d.Security = &drivers.OPCUASecurity{Policy: drivers.PolicyBasic256Sha256, Certificate: "c", PrivateKey: "k", Trust: []string{"t"}}
		}), []string{"security.mode"}},
		{"unknown policy", opcua(func(d *drivers.DeviceConfig) {
			d.Security = &drivers.OPCUASecurity{Policy: "Basic128Rsa15", Mode: drivers.ModeSign}
		}),
			[]string{"security.policy"}},
		{"secure without key, cert and trust", opcua(func(d *drivers.DeviceConfig) {
			d.Security = &drivers.OPCUASecurity{Policy: drivers.PolicyAes256Sha256RsaPss, Mode: drivers.ModeSignAndEncrypt}
		}), []string{"security.certificate", "security.private_key", "security"}},
		{"bad thumbprint", opcua(func(d *drivers.DeviceConfig) { d.Security = &drivers.OPCUASecurity{ServerThumbprint: "xyz"} }), []string{"security.server_thumbprint"}},
		{"username without password env", opcua(func(d *drivers.DeviceConfig) { d.Auth = &drivers.OPCUAAuth{Type: drivers.AuthUsername, Username: "op"} }),
			[]string{"auth.password_env"}},
		{"certificate token without key", opcua(func(d *drivers.DeviceConfig) {
			d.Auth = &drivers.OPCUAAuth{Type: drivers.AuthCertificate, Certificate: "u"}
		}),
			[]string{"auth.private_key"}},
		{"unknown token", opcua(func(d *drivers.DeviceConfig) { d.Auth = &drivers.OPCUAAuth{Type: "kerberos"} }), []string{"auth.type"}},
		{"deadband without type", opcua(point(drivers.PointConfig{Tag: "a", Node: "ns=2;s=A", Deadband: 1})), []string{"points[0].deadband_type"}},
		{"percent over 100", opcua(point(drivers.PointConfig{Tag: "a", Node: "ns=2;s=A", Deadband: 101, DeadbandType: drivers.DeadbandPercent})), []string{"points[0].deadband"}},
		{"poll with monitoring settings", opcua(point(drivers.PointConfig{Tag: "a", Node: "ns=2;s=A", Mode: drivers.MonitorPoll, QueueSize: 4})), []string{"points[0].mode"}},
		{"table on opcua", opcua(point(drivers.PointConfig{Tag: "a", Node: "ns=2;s=A", Table: drivers.TableCoil})), []string{"points[0].table"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { drivertest.CheckValidate(t, tc.cfg, tc.want) })
	}
}
