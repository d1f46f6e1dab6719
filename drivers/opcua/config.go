package opcua

import (
	"strings"

	"github.com/pretreat/pretreat/drivers"
)

// The OPC UA driver registers itself under drivers.ProtocolOPCUA.
func init() { drivers.RegisterProtocol(drivers.ProtocolOPCUA, protocol{}) }

// protocol is the OPC UA drivers.ProtocolDriver: the checks of the OPC UA
// keys of a device and its points, and New.
type protocol struct{}

// New builds an OPC UA device (drivers.ProtocolDriver).
func (protocol) New(cfg drivers.DeviceConfig, o drivers.BuildOptions) (drivers.Device, error) {
	d, err := New(cfg, Options{Clock: o.Clock, Results: o.Results, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ValidateDevice checks an OPC UA device's endpoint, security and user
// identity (drivers.ProtocolDriver).
func (protocol) ValidateDevice(d *drivers.DeviceConfig, add drivers.AddFunc) {
	if d.Endpoint == "" {
		add("endpoint", "an opcua device needs endpoint opc.tcp://host:port")
	} else if !strings.HasPrefix(d.Endpoint, "opc.tcp://") {
		add("endpoint", "endpoint %q must start with opc.tcp://", d.Endpoint)
	}
	if d.Address != "" || d.Transport != "" || d.TLS != nil || d.Serial != nil {
		add("protocol", "address, transport, tls and serial belong to modbus devices, not opcua")
	}
	policy, mode := drivers.PolicyNone, drivers.ModeNone
	if s := d.Security; s != nil {
		known := true
		switch s.Policy {
		case "", drivers.PolicyNone, drivers.PolicyBasic256Sha256, drivers.PolicyAes128Sha256RsaOaep, drivers.PolicyAes256Sha256RsaPss:
			if s.Policy != "" {
				policy = s.Policy
			}
		default:
			known = false
			add("security.policy", "security policy %q is not supported; allowed: None, Basic256Sha256, Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss", s.Policy)
		}
		switch s.Mode {
		case "", drivers.ModeNone, drivers.ModeSign, drivers.ModeSignAndEncrypt:
			if s.Mode != "" {
				mode = s.Mode
			}
		default:
			known = false
			add("security.mode", "security mode %q is not known; allowed: None, Sign, SignAndEncrypt", s.Mode)
		}
		if known && (policy == drivers.PolicyNone) != (mode == drivers.ModeNone) {
			add("security.mode", "mode %s does not go with policy %s: policy None takes mode None, every other policy Sign or SignAndEncrypt", mode, policy)
		}
		if policy != drivers.PolicyNone {
			if s.Certificate == "" {
				add("security.certificate", "policy %s needs the client's certificate file", policy)
			}
			if s.PrivateKey == "" {
				add("security.private_key", "policy %s needs the client's private key file", policy)
			}
		}
		if s.ServerThumbprint != "" {
			h := strings.NewReplacer(":", "", " ", "").Replace(s.ServerThumbprint)
			ok := len(h) == 40 || len(h) == 64
			for _, c := range strings.ToLower(h) {
				if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
					ok = false
				}
			}
			if !ok {
				add("security.server_thumbprint", "server_thumbprint must be 40 (SHA-1) or 64 (SHA-256) hex digits")
			}
		}
		if policy != drivers.PolicyNone && len(s.Trust) == 0 && s.ServerThumbprint == "" {
			add("security", "policy %s needs the server's certificate trusted: give trust (files or directories) or server_thumbprint", policy)
		}
	}
	if a := d.Auth; a != nil {
		switch a.Type {
		case "", drivers.AuthAnonymous:
		case drivers.AuthUsername:
			if a.Username == "" {
				add("auth.username", "auth type username needs username")
			}
			if a.PasswordEnv == "" {
				add("auth.password_env", "auth type username needs password_env: the environment variable holding the password")
			}
		case drivers.AuthCertificate:
			if a.Certificate == "" {
				add("auth.certificate", "auth type certificate needs the user's certificate file")
			}
			if a.PrivateKey == "" {
				add("auth.private_key", "auth type certificate needs the user's private key file")
			}
		default:
			add("auth.type", "auth type %q is not known; allowed: anonymous, username, certificate", a.Type)
		}
	}
	if d.Retries != 0 || d.ReadGap != 0 || d.MaxReadRegisters != 0 || d.MaxReadBits != 0 || d.WriteFunction != "" {
		add("protocol", "retries, read_gap, max_read_registers, max_read_bits and write_function belong to modbus devices, not opcua")
	}
}

// ValidatePoint checks a point's node id and monitoring settings
// (drivers.ProtocolDriver).
func (protocol) ValidatePoint(d *drivers.DeviceConfig, i int, pp string, add drivers.AddFunc) {
	p := &d.Points[i]
	if p.Node == "" {
		add(pp+".node", "an opcua point needs a node id such as ns=2;s=Pulper.DS")
	}
	if p.Table != "" || p.Address != 0 || p.Bit != nil {
		add(pp+".table", "table, address and bit belong to modbus points; an opcua point has node")
	}
	switch p.Mode {
	case "", drivers.MonitorSubscribe, drivers.MonitorPoll:
	default:
		add(pp+".mode", "mode %q is not known; allowed: subscribe, poll", p.Mode)
	}
	switch p.DeadbandType {
	case "":
		if p.Deadband != 0 {
			add(pp+".deadband_type", "a deadband needs deadband_type absolute or percent")
		}
	case drivers.DeadbandAbsolute, drivers.DeadbandPercent:
		if p.Deadband < 0 || (p.DeadbandType == drivers.DeadbandPercent && p.Deadband > 100) {
			add(pp+".deadband", "deadband %g is out of range", p.Deadband)
		}
	default:
		add(pp+".deadband_type", "deadband_type %q is not known; allowed: absolute, percent", p.DeadbandType)
	}
	if p.SamplingInterval < 0 {
		add(pp+".sampling_interval", "sampling_interval %s is negative", p.SamplingInterval)
	}
	if p.Mode == drivers.MonitorPoll && (p.Deadband != 0 || p.QueueSize != 0 || p.SamplingInterval != 0) {
		add(pp+".mode", "sampling_interval, queue_size and deadband apply to subscribed points, not mode poll")
	}
	if p.Type == drivers.TypeString {
		add(pp+".type", "string points are read from Modbus devices only")
	}
}
