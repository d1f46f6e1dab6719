package main

import (
	"context"
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
func cmdAudit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	var src sourceFlags
	src.register(fs)
	var rng rangeFlags
	rng.register(fs)
	format := fs.String("format", "table", "output format: json or table")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	from, to, err := rng.bounds(time.UTC)
	if err != nil {
		return usageError(err.Error())
	}
	st, err := src.open()
	if err != nil {
		return err
	}
	defer st.Close()
	evs, err := st.Events(ctx, from, to)
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

func cmdBatch(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		return usageError("usage: pretreat batch list [--data DIR | --api URL] [--from T] [--to T] [--format json|table]")
	}
	fs := flag.NewFlagSet("batch list", flag.ContinueOnError)
	var src sourceFlags
	src.register(fs)
	var rng rangeFlags
	rng.register(fs)
	format := fs.String("format", "table", "output format: json or table")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	from, to, err := rng.bounds(time.UTC)
	if err != nil {
		return usageError(err.Error())
	}
	st, err := src.open()
	if err != nil {
		return err
	}
	defer st.Close()
	bs, err := st.Batches(ctx, from, to)
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
