module github.com/pretreat/pretreat

go 1.26

require (
	github.com/gdamore/tcell/v2 v2.8.1
	github.com/goccy/go-yaml v1.19.2
	github.com/gopcua/opcua v0.9.1
	github.com/influxdata/influxdb-client-go/v2 v2.14.0
	github.com/rivo/tview v0.42.0
	github.com/simonvetter/modbus v1.6.4
	go.etcd.io/bbolt v1.4.3
)

require (
	github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
	github.com/gdamore/encoding v1.0.1 // indirect
	github.com/goburrow/serial v0.1.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/influxdata/line-protocol v0.0.0-20200327222509-2487e7298839 // indirect
	github.com/lucasb-eyer/go-colorful v1.2.0 // indirect
	github.com/mattn/go-runewidth v0.0.16 // indirect
	github.com/oapi-codegen/runtime v1.0.0 // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	golang.org/x/net v0.25.0 // indirect
	golang.org/x/sys v0.29.0 // indirect
	golang.org/x/term v0.28.0 // indirect
	golang.org/x/text v0.21.0 // indirect
)
