package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/pretreat/pretreat/historian"
)

// cmdAudit prints the audit trail: every command sent to the controller,
// accepted or refused, with its user, from the data directory's event store.
func cmdAudit(args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	data := fs.String("data", "data", "data directory")
	format := fs.String("format", "table", "output format: json or table")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	st, err := historian.OpenStore(*data)
	if err != nil {
		return err
	}
	defer st.Close()
	evs, err := st.Events(time.Time{}, time.Now().Add(100*365*24*time.Hour))
	if err != nil {
		return err
	}
	var cmds []historian.Event
	for _, e := range evs {
		if e.Kind == historian.EventCommand {
			cmds = append(cmds, e)
		}
	}
	if *format == "json" {
		if cmds == nil {
			cmds = []historian.Event{}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(cmds)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tUSER\tCOMMAND\tUNIT\tBATCH\tMESSAGE")
	for _, e := range cmds {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format("2006-01-02 15:04:05.000"), orDash(e.User), e.Name, orDash(e.Unit), orDash(e.BatchID), e.Message)
	}
	return w.Flush()
}

func cmdBatch(args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return usageError("usage: pretreat batch list --data DIR [--format json|table]")
	}
	fs := flag.NewFlagSet("batch list", flag.ContinueOnError)
	data := fs.String("data", "data", "data directory")
	format := fs.String("format", "table", "output format: json or table")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	st, err := historian.OpenStore(*data)
	if err != nil {
		return err
	}
	defer st.Close()
	bs, err := st.Batches()
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		if bs == nil {
			bs = []historian.BatchRecord{}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(bs)
	case "table":
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tRECIPE\tVER\tSTATE\tSTART\tEND\tKG IN\tKG CAKE\tKG WATER\tKG REJECTS\tKWH")
		for _, b := range bs {
			end := "-"
			if !b.End.IsZero() {
				end = b.End.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\n", b.ID, b.Recipe, b.RecipeVersion, b.State,
				b.Start.Format("2006-01-02 15:04:05"), end, b.KgReceived, b.KgCake, b.KgWater, b.KgRejects, b.KWh)
		}
		return w.Flush()
	}
	return usageError("--format must be json or table")
}
