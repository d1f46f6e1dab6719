package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func cmdConfig(args []string) error {
	if len(args) == 0 {
		return usageError("config needs a subcommand: check FILE | sample")
	}
	switch args[0] {
	case "sample":
		_, err := os.Stdout.Write(plant.Sample())
		return err
	case "check":
		if len(args) != 2 {
			return usageError("usage: pretreat config check FILE")
		}
		f, err := plant.Load(args[1])
		if err != nil {
			var es yamlsrc.Errors
			if errors.As(err, &es) {
				fmt.Fprintln(os.Stderr, es.Error())
				return fmt.Errorf("%s: %d problem(s)", args[1], len(es))
			}
			return err
		}
		points := 0
		for _, d := range f.Devices {
			points += len(d.Points)
		}
		fmt.Printf("%s: ok: line %s, %d devices, %d points, %d units\n", args[1], f.Line, len(f.Devices), points, len(f.Units))
		return nil
	}
	return usageError("unknown config subcommand " + args[0])
}
