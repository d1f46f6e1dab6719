package report

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// sheetNames maps the tables to their sheets in the workbook.
var sheetNames = map[string]string{
	"summary": "Summary", "groups": "Groups", "batches": "Batches", "deliveries": "Deliveries",
	"downtime": "Downtime", "holds": "Holds", "suppliers": "Suppliers", "exceptions": "Exceptions",
}

// SheetNames are the sheets of WriteXLSX, in order: Summary first, then
// one per table of CSVTables.
func SheetNames() []string {
	out := make([]string, len(CSVTables))
	for i, t := range CSVTables {
		out[i] = sheetNames[t]
	}
	return out
}

// WriteXLSX writes the report as a workbook: a Summary sheet, then one
// sheet per table; figures are numbers, times date cells in the plant's
// local time, the header row bold and frozen, columns sized to fit.
func WriteXLSX(w io.Writer, r *Report) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDE6EE"}}})
	if err != nil {
		return err
	}
	fmtDate := "yyyy-mm-dd hh:mm"
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: &fmtDate})
	if err != nil {
		return err
	}
	fmtNum := "#,##0.000"
	num, err := f.NewStyle(&excelize.Style{CustomNumFmt: &fmtNum})
	if err != nil {
		return err
	}
	loc := r.Location()
	for i, name := range CSVTables {
		t, err := r.table(name)
		if err != nil {
			return err
		}
		sheet := sheetNames[name]
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(sheet); err != nil {
			return err
		}
		widths := make([]int, len(t.header))
		for c, h := range t.header {
			cell, _ := excelize.CoordinatesToCellName(c+1, 1)
			if err := f.SetCellStr(sheet, cell, h); err != nil {
				return err
			}
			widths[c] = utf8.RuneCountInString(h)
		}
		if len(t.header) > 0 {
			last, _ := excelize.CoordinatesToCellName(len(t.header), 1)
			if err := f.SetCellStyle(sheet, "A1", last, bold); err != nil {
				return err
			}
		}
		for ri, row := range t.rows {
			for c, v := range row {
				cell, _ := excelize.CoordinatesToCellName(c+1, ri+2)
				wd := 0
				switch x := v.(type) {
				case time.Time:
					if x.IsZero() {
						continue
					}
					// excelize stores the instant's UTC serial: give it the
					// plant's wall clock as if it were UTC.
					lt := x.In(loc)
					wall := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), 0, time.UTC)
					if err := f.SetCellValue(sheet, cell, wall); err != nil {
						return err
					}
					if err := f.SetCellStyle(sheet, cell, cell, date); err != nil {
						return err
					}
					wd = 16
				case float64:
					if err := f.SetCellFloat(sheet, cell, x, -1, 64); err != nil {
						return err
					}
					if err := f.SetCellStyle(sheet, cell, cell, num); err != nil {
						return err
					}
					wd = len(fmt.Sprintf("%.3f", x)) + 2
				case int:
					if err := f.SetCellInt(sheet, cell, int64(x)); err != nil {
						return err
					}
					wd = len(fmt.Sprint(x))
				case bool:
					if err := f.SetCellBool(sheet, cell, x); err != nil {
						return err
					}
					wd = 5
				case []string:
					s := strings.Join(x, " ")
					if err := f.SetCellStr(sheet, cell, s); err != nil {
						return err
					}
					wd = utf8.RuneCountInString(s)
				default:
					s := fmt.Sprint(x)
					if err := f.SetCellStr(sheet, cell, s); err != nil {
						return err
					}
					wd = utf8.RuneCountInString(s)
				}
				widths[c] = max(widths[c], wd)
			}
		}
		for c, wd := range widths {
			col, _ := excelize.ColumnNumberToName(c + 1)
			if err := f.SetColWidth(sheet, col, col, float64(min(max(wd, 6), 60)+2)); err != nil {
				return err
			}
		}
		if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
	}
	f.SetActiveSheet(0)
	_, err = f.WriteTo(w)
	return err
}
