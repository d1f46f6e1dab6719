package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/pretreat/pretreat/historian"
)

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
		fmt.Fprintln(w, "ID\tRECIPE\tVER\tSTATE\tSTART\tEND\tKG IN\tKG CAKE\tKG WATER")
		for _, b := range bs {
			end := "-"
			if !b.End.IsZero() {
				end = b.End.Format("2006-01-02 15:04:05")
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\n", b.ID, b.Recipe, b.RecipeVersion, b.State,
				b.Start.Format("2006-01-02 15:04:05"), end, b.KgReceived, b.KgCake, b.KgWater)
		}
		return w.Flush()
	}
	return usageError("--format must be json or table")
}
