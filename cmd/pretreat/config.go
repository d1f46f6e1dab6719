package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pretreat/pretreat/controller/plant"
	"github.com/pretreat/pretreat/drivers"
	"github.com/pretreat/pretreat/internal/yamlsrc"
)

func cmdConfig(args []string) error {
	if len(args) == 0 {
		return usageError("config needs a subcommand: check FILE | sample [NAME]")
	}
	switch args[0] {
	case "sample":
		name := "sample"
		if len(args) > 1 {
			name = args[1]
		}
		src, ok := plant.Shipped()[name]
		if !ok || len(args) > 2 {
			return usageError("usage: pretreat config sample [sample|two-lane]")
		}
		_, err := os.Stdout.Write(src)
		return err
	case "check":
		if len(args) != 2 {
			return usageError("usage: pretreat config check FILE")
		}
		return configCheck(args[1], os.Stdout, os.Stderr)
	}
	return usageError("unknown config subcommand " + args[0])
}

// configCheck validates a plant file without connecting to anything: the
// file itself, then every device as its driver would build it, which reads
// the certificate, key and trust files and the password variables the file
// names. Every problem goes to stderr as file:line:column: key: message;
// the summary of a good file to stdout.
func configCheck(path string, stdout, stderr io.Writer) error {
	f, err := plant.Load(path)
	if err == nil {
		err = checkDrivers(path, f)
	}
	if err != nil {
		var es yamlsrc.Errors
		if errors.As(err, &es) {
			fmt.Fprintln(stderr, es.Error())
			return fmt.Errorf("%s: %d problem(s)", path, len(es))
		}
		return err
	}
	points := 0
	for _, d := range f.Devices {
		points += len(d.Points)
	}
	fmt.Fprintf(stdout, "%s: ok: line %s, %d devices, %d points, %d units\n", path, f.Line, len(f.Devices), points, len(f.Units))
	return nil
}

// checkDrivers builds each device's driver (no I/O happens in New) and
// locates the configuration errors it reports in the file.
func checkDrivers(path string, f *plant.File) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := yamlsrc.Decode(path, src, &plant.File{})
	if err != nil {
		return err
	}
	for i, dc := range f.Devices {
		_, err = drivers.New(dc, drivers.BuildOptions{})
		for _, ce := range configErrors(err) {
			doc.Addf(fmt.Sprintf("$.devices[%d].%s", i, ce.Path), "%s", ce.Message)
		}
	}
	return doc.Err()
}

// configErrors collects the *drivers.ConfigError in err's tree.
func configErrors(err error) []*drivers.ConfigError {
	var out []*drivers.ConfigError
	var walk func(error)
	walk = func(e error) {
		if ce, ok := e.(*drivers.ConfigError); ok {
			out = append(out, ce)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				walk(inner)
			}
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}
