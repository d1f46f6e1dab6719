package influxtest

import (
	"strings"
	"testing"
)

const sampleConfig = `reporting-disabled = false
bind-address = "127.0.0.1:8088"

[meta]
  dir = "/root/.influxdb/meta"

[data]
  dir = "/root/.influxdb/data"
  wal-dir = "/root/.influxdb/wal"
  query-log-enabled = true

[http]
  enabled = true
  bind-address = ":8086"
  flux-enabled = false
  auth-enabled = false

[[graphite]]
  enabled = false
  bind-address = ":2003"
`

func TestEditConfig(t *testing.T) {
	got, err := editConfig([]byte(sampleConfig), "/tmp/x", 40001, 40002, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"reporting-disabled = true\n",
		"bind-address = \"127.0.0.1:40002\"\n",
		"  dir = \"/tmp/x/meta\"\n",
		"  dir = \"/tmp/x/data\"\n",
		"  wal-dir = \"/tmp/x/wal\"\n",
		"  bind-address = \"127.0.0.1:40001\"\n",
		"  flux-enabled = true\n",
		"  auth-enabled = true\n",
		"[[graphite]]\n  enabled = false\n  bind-address = \":2003\"\n", // arrays of tables untouched
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("edited config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "8086") || strings.Contains(string(got), "/root/") {
		t.Errorf("edited config still has a default port or directory:\n%s", got)
	}

	noHTTP := strings.Replace(sampleConfig, "[http]", "[web]", 1)
	if _, err := editConfig([]byte(noHTTP), "/tmp/x", 1, 2, false); err == nil || !strings.Contains(err.Error(), "http/bind-address") {
		t.Errorf("config without [http]: err = %v, want one naming http/bind-address", err)
	}
}
