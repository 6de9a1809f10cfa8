// yaml-v2-reader reads YAML documents back with gopkg.in/yaml.v2, the
// decoder kubectl's ecosystem grew up on (a port of libyaml), for kit's
// read-back suite (tests/yaml_readback.py).
//
// Input on stdin: one JSON object per line,
//   {"yaml": "...", "path": ["key", 0], "key": false, "key_index": 0}
// Output on stdout: one JSON object per line, in the same order,
//   {"value": "..."} for a string, {"other": "..."} for a non-string, or
//   {"error": "..."} when the document cannot be read or the path is absent.
//
// Built by .ci/run with Debian's golang-go and golang-gopkg-yaml.v2-dev:
//   GOPATH=/usr/share/gocode GO111MODULE=off go build -o DIR/yaml-v2-reader .
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	yaml "gopkg.in/yaml.v2"
)

type request struct {
	YAML     string        `json:"yaml"`
	Path     []interface{} `json:"path"`
	Key      bool          `json:"key"`
	KeyIndex int           `json:"key_index"`
}

type answer struct {
	Value *string `json:"value,omitempty"`
	Other string  `json:"other,omitempty"`
	Error string  `json:"error,omitempty"`
}

func lookup(doc interface{}, path []interface{}) (interface{}, error) {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := doc.(map[interface{}]interface{})
			if !ok {
				return nil, fmt.Errorf("not a mapping at %q", k)
			}
			v, ok := m[k]
			if !ok {
				return nil, fmt.Errorf("no key %q", k)
			}
			doc = v
		case float64:
			l, ok := doc.([]interface{})
			if !ok || int(k) >= len(l) {
				return nil, fmt.Errorf("no item %v", k)
			}
			doc = l[int(k)]
		}
	}
	return doc, nil
}

func read(r request) answer {
	// MapSlice keeps key order, which "key" positions need.
	var ordered yaml.MapSlice
	var doc interface{}
	if err := yaml.Unmarshal([]byte(r.YAML), &doc); err != nil {
		return answer{Error: err.Error()}
	}
	if r.Key {
		node, err := lookup(doc, r.Path)
		if err != nil {
			return answer{Error: err.Error()}
		}
		if _, ok := node.(map[interface{}]interface{}); !ok {
			return answer{Error: "not a mapping"}
		}
		// Read the same node again in order.
		if len(r.Path) == 0 {
			if err := yaml.Unmarshal([]byte(r.YAML), &ordered); err != nil {
				return answer{Error: err.Error()}
			}
		} else {
			var outer yaml.MapSlice
			if err := yaml.Unmarshal([]byte(r.YAML), &outer); err != nil {
				return answer{Error: err.Error()}
			}
			for _, item := range outer {
				if item.Key == r.Path[0] {
					inner, err := yaml.Marshal(item.Value)
					if err != nil {
						return answer{Error: err.Error()}
					}
					if err := yaml.Unmarshal(inner, &ordered); err != nil {
						return answer{Error: err.Error()}
					}
				}
			}
		}
		if r.KeyIndex >= len(ordered) || len(ordered) != r.KeyIndex+1 {
			return answer{Error: fmt.Sprintf("expected %d keys, found %d", r.KeyIndex+1, len(ordered))}
		}
		node = ordered[r.KeyIndex].Key
		if s, ok := node.(string); ok {
			return answer{Value: &s}
		}
		return answer{Other: fmt.Sprintf("%T %v", node, node)}
	}
	node, err := lookup(doc, r.Path)
	if err != nil {
		return answer{Error: err.Error()}
	}
	if s, ok := node.(string); ok {
		return answer{Value: &s}
	}
	return answer{Other: fmt.Sprintf("%T %v", node, node)}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		if err := enc.Encode(read(r)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
