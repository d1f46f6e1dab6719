package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/pretreat/pretreat/controller/line"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pretreat/pretreat/controller/api"
	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/internal/yamlsrc"
	"github.com/pretreat/pretreat/recipes"
)

// storeSource lets the controller start batches from the recipe store.
type storeSource struct{ st *recipes.Store }

func (s storeSource) Resolve(name string, version int) (*recipes.Recipe, error) {
	return s.st.Resolve(name, version)
}

func (s storeSource) List() ([]api.RecipeInfo, error) {
	vs, err := s.st.List()
	out := make([]api.RecipeInfo, 0, len(vs))
	for _, v := range vs {
		out = append(out, api.RecipeInfo{Name: v.Name, Version: v.Version, WasteClass: v.WasteClass, Description: v.Description, State: v.State, Hash: v.Hash})
	}
	return out, err
}

// importShipped imports and approves the shipped recipes as user (the demo
// does this so that it has something to run; a plant does it by hand).
func importShipped(st *recipes.Store, limits recipes.Limits, user string) error {
	files, err := recipes.ShippedFiles()
	if err != nil {
		return err
	}
	for name, src := range files {
		info, _, err := st.Import(name, src, user, limits, time.Now())
		if err != nil {
			return err
		}
		if info.State != recipes.StateApproved {
			if _, err := st.Approve(info.Name, info.Version, user, time.Now()); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseRef splits NAME[@VERSION].
func parseRef(ref string) (string, int, error) {
	name, v, ok := strings.Cut(ref, "@")
	if !ok {
		return name, 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", 0, usageError(fmt.Sprintf("%q: a version is a whole number from 1 (NAME@VERSION)", ref))
	}
	return name, n, nil
}

func plantLimits(config string) (recipes.Limits, error) {
	var cfg *plant.File
	var err error
	if config != "" {
		cfg, err = plant.Load(config)
	} else {
		cfg, err = plant.Parse("<sample>", plant.Sample())
	}
	if err != nil {
		return nil, err
	}
	return line.Limits(cfg), nil
}

const recipeUsage = `usage:
  pretreat recipe validate [--config PLANT] FILE...
  pretreat recipe import   [--data DIR] [--config PLANT] --user USER FILE...
  pretreat recipe approve  [--data DIR] --user USER NAME@VERSION
  pretreat recipe list     [--data DIR] [--format table|json]
  pretreat recipe show     [--data DIR] [--format yaml|json] NAME[@VERSION]
  pretreat recipe diff     [--data DIR] A B        (each NAME@VERSION or a file)
  pretreat recipe export   [--data DIR] [-o FILE] NAME[@VERSION]
  pretreat recipe audit    [--data DIR]
  pretreat recipe reference                         (markdown reference of every key)`

func cmdRecipe(args []string) error {
	if len(args) == 0 {
		return usageError(recipeUsage)
	}
	fs := flag.NewFlagSet("recipe "+args[0], flag.ContinueOnError)
	data := fs.String("data", "data", "data directory holding the recipe store")
	config := fs.String("config", "", "plant file whose equipment limits recipes must meet (default: the sample plant)")
	user := fs.String("user", "", "user recorded with an import or approval")
	format := fs.String("format", "", "output format")
	out := fs.String("o", "", "write to this file instead of standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}
	st := recipes.OpenStore(*data)
	rest := fs.Args()
	switch args[0] {
	case "validate":
		if len(rest) == 0 {
			return usageError("recipe validate needs at least one FILE")
		}
		limits, err := plantLimits(*config)
		if err != nil {
			return err
		}
		bad := 0
		names := map[string]string{}
		for _, f := range rest {
			r, err := recipes.Load(f, limits)
			if err != nil {
				bad++
				printRecipeErr(err)
				continue
			}
			if other, dup := names[r.Name]; dup {
				bad++
				fmt.Fprintf(os.Stderr, "%s:1:1: $.recipe: recipe name %q is also used by %s; names must be unique\n", f, r.Name, other)
				continue
			}
			names[r.Name] = f
			fmt.Printf("%s: ok: %s (%s), %d phases, sha256 %s\n", f, r.Name, r.WasteClass, len(r.Procedure), r.Hash[:12])
		}
		if bad > 0 {
			return fmt.Errorf("%d of %d recipe files have errors", bad, len(rest))
		}
		return nil
	case "import":
		if len(rest) == 0 {
			return usageError("recipe import needs at least one FILE")
		}
		limits, err := plantLimits(*config)
		if err != nil {
			return err
		}
		for _, f := range rest {
			src, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			info, created, err := st.Import(f, src, *user, limits, time.Now())
			if err != nil {
				printRecipeErr(err)
				return fmt.Errorf("%s not imported", f)
			}
			if created {
				fmt.Printf("%s: imported as %s@%d (draft, sha256 %s)\n", f, info.Name, info.Version, info.Hash[:12])
			} else {
				fmt.Printf("%s: unchanged: same content as %s@%d (%s)\n", f, info.Name, info.Version, info.State)
			}
		}
		return nil
	case "approve":
		if len(rest) != 1 {
			return usageError("recipe approve needs one NAME@VERSION")
		}
		name, v, err := parseRef(rest[0])
		if err != nil {
			return err
		}
		if v == 0 {
			return usageError("recipe approve needs an explicit version: NAME@VERSION")
		}
		info, err := st.Approve(name, v, *user, time.Now())
		if err != nil {
			return err
		}
		fmt.Printf("%s@%d approved by %s\n", info.Name, info.Version, info.ApprovedBy)
		return nil
	case "list":
		vs, err := st.List()
		if err != nil {
			return err
		}
		if *format == "json" {
			if vs == nil {
				vs = []recipes.VersionInfo{}
			}
			return writeJSONOut(vs)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "RECIPE\tVERSION\tSTATE\tCLASS\tSHA256\tIMPORTED BY\tAPPROVED BY")
		for _, v := range vs {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Version, v.State, v.WasteClass, v.Hash[:12], v.ImportedBy, v.ApprovedBy)
		}
		return w.Flush()
	case "show":
		if len(rest) != 1 {
			return usageError("recipe show needs one NAME[@VERSION]")
		}
		name, v, err := parseRef(rest[0])
		if err != nil {
			return err
		}
		r, info, err := st.Get(name, v)
		if err != nil {
			return err
		}
		if *format == "json" {
			return writeJSONOut(struct {
				Info   recipes.VersionInfo `json:"info"`
				Recipe *recipes.Recipe     `json:"recipe"`
			}{info, r})
		}
		fmt.Printf("# %s@%d %s, sha256 %s, imported by %s at %s", info.Name, info.Version, info.State, info.Hash, info.ImportedBy, info.ImportedAt.Format(time.RFC3339))
		if info.ApprovedBy != "" {
			fmt.Printf(", approved by %s at %s", info.ApprovedBy, info.ApprovedAt.Format(time.RFC3339))
		}
		fmt.Println()
		_, err = os.Stdout.Write(r.Source)
		return err
	case "export":
		if len(rest) != 1 {
			return usageError("recipe export needs one NAME[@VERSION]")
		}
		name, v, err := parseRef(rest[0])
		if err != nil {
			return err
		}
		src, _, err := st.Source(name, v)
		if err != nil {
			return err
		}
		if *out == "" {
			_, err = os.Stdout.Write(src)
			return err
		}
		return os.WriteFile(*out, src, 0o644)
	case "diff":
		if len(rest) != 2 {
			return usageError("recipe diff needs two recipes: NAME@VERSION or FILE each")
		}
		var rs [2]*recipes.Recipe
		for i, ref := range rest {
			r, err := loadRef(st, ref)
			if err != nil {
				return err
			}
			rs[i] = r
		}
		changes := recipes.Diff(rs[0], rs[1])
		if *format == "json" {
			if changes == nil {
				changes = []recipes.Change{}
			}
			return writeJSONOut(changes)
		}
		if len(changes) == 0 {
			fmt.Println("no differences")
			return nil
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "KEY\t%s\t%s\n", rest[0], rest[1])
		for _, c := range changes {
			fmt.Fprintf(w, "%s\t%s\t%s\n", c.Key, orDash(c.A), orDash(c.B))
		}
		return w.Flush()
	case "audit":
		log, err := st.Audit()
		if err != nil {
			return err
		}
		for _, e := range log {
			fmt.Printf("%s  %-8s %s@%d by %s (sha256 %s)\n", e.Time.Format(time.RFC3339), e.Action, e.Recipe, e.Version, e.User, e.Hash[:12])
		}
		return nil
	case "reference":
		_, err := os.Stdout.WriteString(recipes.Reference())
		return err
	}
	return usageError("unknown recipe subcommand " + args[0] + "\n" + recipeUsage)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loadRef reads a recipe from the store (NAME@VERSION) or from a file.
func loadRef(st *recipes.Store, ref string) (*recipes.Recipe, error) {
	if _, err := os.Stat(ref); err == nil {
		return recipes.Load(ref, nil)
	}
	name, v, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	r, _, err := st.Get(name, v)
	return r, err
}

func printRecipeErr(err error) {
	var es yamlsrc.Errors
	if errors.As(err, &es) {
		fmt.Fprintln(os.Stderr, es.Error())
		return
	}
	fmt.Fprintln(os.Stderr, err)
}

func writeJSONOut(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cmdBatchStart asks a running controller to start a batch.
func cmdBatchStart(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("batch start", flag.ContinueOnError)
	url := fs.String("api", "http://127.0.0.1:8470", "controller API base URL")
	user := fs.String("user", "", "user recorded with the command")
	recipe := fs.String("recipe", "", "recipe NAME[@VERSION] (default: latest approved)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *recipe == "" || *user == "" {
		return usageError("usage: pretreat batch start --recipe NAME[@VERSION] --user USER [--api URL]")
	}
	name, v, err := parseRef(*recipe)
	if err != nil {
		return err
	}
	res, err := api.NewClient(*url).Send(ctx, api.Command{Command: api.CommandStart, Recipe: name, Version: v, User: *user})
	if err != nil {
		return err
	}
	if !res.OK {
		return errors.New(refusedText(api.CommandStart, res.Error))
	}
	fmt.Printf("batch started with %s\n", *recipe)
	return nil
}

// refusedText words a refused command for the terminal: "start refused:
// <reason>". The scan gives the reason alone; a refusal of the API layer
// (who may not send it) may already name the command.
func refusedText(command, reason string) string {
	if strings.HasPrefix(reason, command+" refused: ") {
		return reason
	}
	return command + " refused: " + reason
}
