package testrig

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pretreat/pretreat/drivers"
)

// MapRow is one served point: where it is on the wire, how it is encoded
// and which model variable it carries. It is what an integrator checks a
// device's documentation against.
type MapRow struct {
	Device   string           `json:"device"`
	Protocol drivers.Protocol `json:"protocol"`
	// Address is host:port (Modbus) or the endpoint URL (OPC UA): where
	// the rig listens once started (the plant file's address before, or
	// when it binds the configured addresses).
	Address string `json:"address"`
	UnitID  uint8  `json:"unit_id,omitempty"`
	// Table, Register, Registers and Bit place a Modbus point; Node an
	// OPC UA one.
	Table     drivers.Table `json:"table,omitempty"`
	Register  uint16        `json:"register"`
	Registers int           `json:"registers,omitempty"`
	Bit       *uint8        `json:"bit,omitempty"`
	Node      string        `json:"node,omitempty"`
	// Type and Order are the encoding (Order only for multi-register
	// values and byte-swapped registers).
	Type  drivers.DataType  `json:"type"`
	Order drivers.WordOrder `json:"order,omitempty"`
	// Scale and Offset turn the raw value into engineering units:
	// eng = raw*Scale + Offset.
	Scale  float64        `json:"scale"`
	Offset float64        `json:"offset,omitempty"`
	Unit   string         `json:"unit,omitempty"`
	Access drivers.Access `json:"access"`
	Tag    string         `json:"tag"`
	Role   string         `json:"role"`
	// Watchdog is "tag", "reset" or "fault" for the points the device's
	// watchdog serves (watchdog.go): tag and reset, and a fault whose role
	// is not a model variable, have no model variable behind them.
	Watchdog string `json:"watchdog,omitempty"`
}

// ServedMap lists every point the rig serves, device by device in plant-file
// order, points in plant-file order.
func (r *Rig) ServedMap() []MapRow {
	bound := map[string]Endpoint{}
	for _, ep := range r.Endpoints() {
		bound[ep.Device] = ep
	}
	var rows []MapRow
	for _, d := range r.devices {
		addr := d.Address
		if d.Protocol == drivers.ProtocolOPCUA {
			addr = d.Endpoint
		}
		if ep, ok := bound[d.Name]; ok {
			addr = ep.Address
			if d.Protocol == drivers.ProtocolOPCUA {
				addr = ep.URL
			}
		}
		wd := r.watchdogOf[d.Name]
		for _, p := range d.Points {
			row := MapRow{
				Device: d.Name, Protocol: d.Protocol, Address: addr, Node: p.Node,
				Type: p.Type, Order: p.Order, Scale: p.ScaleOrOne(), Offset: p.Offset, Unit: p.Unit,
				Access: p.Access, Tag: p.Tag, Role: p.EffectiveRole(),
			}
			if wd != nil {
				row.Watchdog = map[watchdogPoint]string{wdTag: "tag", wdReset: "reset", wdFault: "fault"}[wd.point(p.Tag)]
				if row.Watchdog == "fault" && wd.faultRole == "" {
					row.Role = ""
				}
			}
			if row.Access == "" {
				row.Access = drivers.AccessRead
			}
			if d.Protocol == drivers.ProtocolModbusTCP {
				row.UnitID, row.Table, row.Register, row.Registers, row.Bit = d.UnitID, p.Table, p.Address, p.Registers(), p.Bit
				if row.Type == "" {
					row.Type = drivers.TypeFloat64
					if p.Table == drivers.TableCoil || p.Table == drivers.TableDiscrete || p.Bit != nil {
						row.Type = drivers.TypeBool
					}
				}
				if row.Order == "" && row.Registers > 1 {
					row.Order = drivers.WordOrderABCD
				}
			} else if row.Type == "" {
				row.Type = drivers.TypeFloat64
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// WriteMap writes rows as a table for people: one line per point, Modbus
// places as table:register (register.bit for a bit, +n for the registers
// spanned), OPC UA places as node ids.
func WriteMap(w io.Writer, rows []MapRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tPROTOCOL\tADDRESS\tUNIT\tPLACE\tTYPE\tORDER\tSCALE\tOFFSET\tENG UNIT\tACCESS\tTAG\tROLE")
	for _, r := range rows {
		unit, place := "-", r.Node
		if r.Protocol == drivers.ProtocolModbusTCP {
			unit = strconv.Itoa(int(r.UnitID))
			place = fmt.Sprintf("%s:%d", r.Table, r.Register)
			if r.Bit != nil {
				place += fmt.Sprintf(".%d", *r.Bit)
			} else if r.Registers > 1 {
				place += fmt.Sprintf("+%d", r.Registers)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.Device, r.Protocol, r.Address, unit, place, r.Type, dash(string(r.Order)),
			strconv.FormatFloat(r.Scale, 'g', -1, 64), strconv.FormatFloat(r.Offset, 'g', -1, 64),
			dash(r.Unit), r.Access, r.Tag, roleNote(r))
	}
	return tw.Flush()
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// roleNote is the role column: "=" when the role is the tag itself, and
// the watchdog's part in the points it serves.
func roleNote(r MapRow) string {
	switch {
	case r.Watchdog == "tag" || r.Watchdog == "reset" || r.Watchdog == "fault" && r.Role == "":
		return "watchdog " + r.Watchdog
	case r.Watchdog == "fault":
		return roleNote(MapRow{Role: r.Role, Tag: r.Tag}) + " or watchdog trip"
	case r.Role == r.Tag:
		return "="
	}
	return r.Role
}
