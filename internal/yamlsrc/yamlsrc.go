// Package yamlsrc decodes the YAML files a person writes (plant files,
// recipes, scenarios) strictly, and locates every problem in the source as
// file:line:column so that the message can tell the person where to look.
package yamlsrc

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Error is one problem in a file, located in the source.
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Key     string `json:"key"` // YAML path, e.g. $.devices[0].points[2].type
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Column, e.Key, e.Message)
}

// Errors is every problem found in one file, in source order.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Doc is a parsed YAML document whose paths can be located.
type Doc struct {
	name string
	file *ast.File
	errs Errors
}

// Decode parses src into v and checks it against v's Go type: every
// unknown key, duplicate key and type mismatch is recorded in the returned
// Doc, all of them, so that the caller can add its own checks and report
// everything at once with Doc.Err. The error is non-nil only when v could
// not be filled at all (a syntax error, or a value of the wrong type); it is
// then Errors with every problem found so far.
func Decode(name string, src []byte, v any) (*Doc, error) {
	// Duplicate keys are let through the parser so that the checker reports
	// them together with every other problem.
	f, err := parser.ParseBytes(src, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, Errors{fromYAML(name, err)}
	}
	if len(f.Docs) > 1 {
		return nil, Errors{{File: name, Line: 1, Column: 1, Message: "the file holds more than one YAML document; one is allowed"}}
	}
	c := &checker{name: name}
	if len(f.Docs) == 1 && f.Docs[0].Body != nil {
		c.walk(f.Docs[0].Body, reflect.TypeOf(v), "$")
	}
	d := &Doc{name: name, file: f, errs: c.errs}
	if len(c.errs) == 0 {
		if err := unmarshal(src, v, yaml.DisallowUnknownField(), yaml.Strict()); err != nil {
			return nil, Errors{fromYAML(name, err)}
		}
		return d, nil
	}
	// Unknown keys do not stop the caller's own checks: decode leniently
	// (unknown keys ignored, the last of duplicate keys kept) and go on.
	if err := unmarshal(src, v, yaml.AllowDuplicateMapKey()); err != nil {
		return nil, d.Err()
	}
	return d, nil
}

// unmarshal decodes, turning a panic inside the YAML library (it panics on
// a list longer than a fixed-size array, for one) into an error: bad input
// must give a message, never crash the process.
func unmarshal(src []byte, v any, opts ...yaml.DecodeOption) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the YAML library failed on this input: %v", p)
		}
	}()
	return yaml.UnmarshalWithOptions(src, v, opts...)
}

// Addf records a problem at the YAML path (e.g. "$.units[1].kind"). When the
// path does not exist in the source, the nearest existing parent is used.
func (d *Doc) Addf(path, format string, args ...any) {
	line, col := d.Locate(path)
	d.errs = append(d.errs, &Error{File: d.name, Line: line, Column: col, Key: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns the recorded problems sorted by position, or nil.
func (d *Doc) Err() error {
	if len(d.errs) == 0 {
		return nil
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		if d.errs[i].Line != d.errs[j].Line {
			return d.errs[i].Line < d.errs[j].Line
		}
		return d.errs[i].Column < d.errs[j].Column
	})
	return d.errs
}

// Locate returns the line and column of a YAML path.
func (d *Doc) Locate(path string) (line, column int) {
	for p := path; p != ""; p = parent(p) {
		yp, err := yaml.PathString(p)
		if err != nil {
			continue
		}
		n, err := yp.FilterFile(d.file)
		if err != nil || n == nil {
			continue
		}
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return tk.Position.Line, tk.Position.Column
		}
	}
	return 1, 1
}

func parent(p string) string {
	if p == "$" {
		return ""
	}
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return "$"
	}
	return p[:i]
}

func fromYAML(name string, err error) *Error {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return &Error{File: name, Line: tk.Position.Line, Column: tk.Position.Column, Message: ye.GetMessage()}
		}
		return &Error{File: name, Line: 1, Column: 1, Message: ye.GetMessage()}
	}
	return &Error{File: name, Line: 1, Column: 1, Message: err.Error()}
}
