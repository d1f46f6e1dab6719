package yamlsrc

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

var durationType = reflect.TypeOf(time.Duration(0))

// checker walks a parsed document against the Go type it will be decoded
// into and records every unknown key, duplicate key and type mismatch, so
// that a person sees all of them at once rather than the decoder's first.
type checker struct {
	name string
	errs Errors
}

func (c *checker) add(n ast.Node, path, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			line, col = tk.Position.Line, tk.Position.Column
		}
	}
	c.errs = append(c.errs, &Error{File: c.name, Line: line, Column: col, Key: path, Message: fmt.Sprintf(format, args...)})
}

// unwrap skips anchors, tags and comments to the node that holds the value.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.CommentGroupNode:
			return nil
		default:
			return n
		}
	}
}

// pairs returns the key/value pairs of a mapping node, or ok false.
func pairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

func keyString(kv *ast.MappingValueNode) string {
	if kv.Key == nil {
		return ""
	}
	if s, ok := kv.Key.(*ast.StringNode); ok {
		return s.Value
	}
	return kv.Key.String()
}

func describe(n ast.Node) string {
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.NullType:
		return "nothing"
	}
	s := n.String()
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// yamlFields maps YAML keys to struct fields, following `yaml:"name"` tags.
func yamlFields(t reflect.Type) (map[string]reflect.StructField, []string) {
	fields := map[string]reflect.StructField{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.ToLower(f.Name)
		if tag, ok := f.Tag.Lookup("yaml"); ok {
			parts := strings.Split(tag, ",")
			if parts[0] == "-" {
				continue
			}
			if parts[0] != "" {
				name = parts[0]
			}
		}
		fields[name] = f
		names = append(names, name)
	}
	return fields, names
}

func (c *checker) walk(n ast.Node, t reflect.Type, path string) {
	n = unwrap(n)
	if n == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Type() == ast.NullType {
		return // absent value: required-ness is checked by the caller's validation
	}
	if t == durationType {
		switch n.Type() {
		case ast.StringType:
			if _, err := time.ParseDuration(n.(*ast.StringNode).Value); err != nil {
				c.add(n, path, "%s is not a duration; write it like 100ms, 5s or 2m", describe(n))
			}
		case ast.IntegerType:
			c.add(n, path, "%s has no unit; write a duration like 100ms, 5s or 2m", describe(n))
		default:
			c.add(n, path, "must be a duration like 100ms, 5s or 2m, not %s", describe(n))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		kvs, ok := pairs(n)
		if !ok {
			c.add(n, path, "must be a mapping of keys, not %s", describe(n))
			return
		}
		fields, names := yamlFields(t)
		seen := map[string]bool{}
		for _, kv := range kvs {
			k := keyString(kv)
			kp := path + "." + k
			if seen[k] {
				c.add(kv.Key, kp, "key %q appears twice; each key once", k)
				continue
			}
			seen[k] = true
			f, ok := fields[k]
			if !ok {
				sorted := append([]string(nil), names...)
				sort.Strings(sorted)
				c.add(kv.Key, kp, "unknown key %q; allowed here: %s", k, strings.Join(sorted, ", "))
				continue
			}
			c.walk(kv.Value, f.Type, kp)
		}
	case reflect.Map:
		kvs, ok := pairs(n)
		if !ok {
			c.add(n, path, "must be a mapping, not %s", describe(n))
			return
		}
		seen := map[string]bool{}
		for _, kv := range kvs {
			k := keyString(kv)
			kp := path + "." + k
			if seen[k] {
				c.add(kv.Key, kp, "key %q appears twice; each key once", k)
				continue
			}
			seen[k] = true
			c.walk(kv.Value, t.Elem(), kp)
		}
	case reflect.Slice, reflect.Array:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			c.add(n, path, "must be a list, not %s", describe(n))
			return
		}
		if t.Kind() == reflect.Array && len(seq.Values) != t.Len() {
			c.add(n, path, "must be a list of exactly %d values, not %d", t.Len(), len(seq.Values))
			return
		}
		for i, v := range seq.Values {
			c.walk(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Float32, reflect.Float64:
		switch n.Type() {
		case ast.IntegerType, ast.FloatType:
		default:
			c.add(n, path, "must be a number, not %s", describe(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Type() != ast.IntegerType {
			c.add(n, path, "must be a whole number, not %s", describe(n))
		}
	case reflect.Bool:
		if n.Type() != ast.BoolType {
			c.add(n, path, "must be true or false, not %s", describe(n))
		}
	case reflect.String:
		switch n.Type() {
		case ast.MappingType, ast.MappingValueType, ast.SequenceType:
			c.add(n, path, "must be a single value, not %s", describe(n))
		}
	}
}
