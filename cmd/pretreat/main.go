// Command pretreat is the food-waste pretreatment line controller: it runs
// the control loop against a plant (or the built-in test rig), serves the
// operator HMI, and stores process data and batch records.
//
// Usage:
//
//	pretreat demo [--headless] [--auto] [--speed N] [--duration D] [--data DIR]
//	pretreat run --config FILE [--data DIR] [--influx-url URL]
//	pretreat rig [--config FILE] [--speed N] [--jams injected|random] [--print-map]
//	pretreat rig fault inject|clear|list --rig URL …
//	pretreat rig scenario run FILE… [--junit OUT.xml] [--speed N]
//	pretreat hmi [--api URL] [--rig URL [--config FILE]]
//	pretreat batch list [--data DIR | --api URL] [--from T --to T] [--format json|table]
//	pretreat delivery add|list|import …
//	pretreat report daily|shift|range|batch|supplier [--from --to] [--by …] [--format html,csv,xlsx,json]
//	pretreat batch start --recipe NAME[@VERSION] --user USER
//	pretreat recipe validate|import|approve|list|show|diff|export|audit|reference
//	pretreat config check FILE
//	pretreat config sample [two-lane]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	// Every protocol driver, for plant files and devices.
	_ "github.com/pretreat/pretreat/drivers/all"
)

const usage = `pretreat — controller for food-waste pretreatment lines

Commands:
  demo                 test rig + controller + HMI in one process, embedded store
  run --config FILE    run the controller against the plant in FILE
  rig                  serve the simulated plant (Modbus TCP, OPC UA) of a plant file;
                       rig fault …: inject and clear faults; rig scenario run FILE…: scenario tests
  hmi --api URL        operator HMI for a running controller (--rig URL: with the training menu)
  batch list           list batch records (from a data directory, or its running controller)
  batch start          ask a running controller to start a batch
  recipe ...           validate, import, approve, list, show, diff, export recipes
  delivery add|list|import   book weighbridge deliveries into the running controller, list them
  report KIND          reports for managers: daily, shift, range, batch ID, supplier
                       (HTML with charts, CSV, XLSX, JSON; from the data directory, the API or InfluxDB)
  audit --data DIR     every command sent to the controller, with its user
  bench scan           measure scan time and lateness (sample and 10x plant, 100 ms and 10 ms)
  config check FILE    check a plant file without connecting to anything
  config sample [NAME] print a shipped plant file: sample (default) or two-lane

Run 'pretreat COMMAND -h' for a command's options.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run dispatches a command line and returns the process exit code.
func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "demo":
		err = cmdDemo(ctx, args[1:])
	case "run":
		err = cmdRun(ctx, args[1:])
	case "rig":
		err = cmdRig(ctx, args[1:])
	case "hmi":
		err = cmdHMI(ctx, args[1:])
	case "batch":
		if len(args) > 1 && args[1] == "start" {
			err = cmdBatchStart(ctx, args[2:])
		} else {
			err = cmdBatch(ctx, args[1:])
		}
	case "recipe":
		err = cmdRecipe(args[1:])
	case "audit":
		err = cmdAudit(ctx, args[1:])
	case "delivery":
		err = cmdDelivery(ctx, args[1:])
	case "report":
		err = cmdReport(ctx, args[1:])
	case "bench":
		err = cmdBench(ctx, args[1:])
	case "config":
		err = cmdConfig(args[1:])
	case "-h", "--help", "help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "pretreat: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if ue, ok := err.(usageError); ok {
			fmt.Fprintln(os.Stderr, "pretreat:", string(ue))
			return 2
		}
		fmt.Fprintln(os.Stderr, "pretreat:", err)
		return 1
	}
	return 0
}

// usageError is a mistake on the command line (exit code 2).
type usageError string

func (e usageError) Error() string { return string(e) }
