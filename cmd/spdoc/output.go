package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"
)

// printStructured prints items as {"items": […]} in JSON or YAML.
func printStructured(w io.Writer, format string, items any) error {
	list := map[string]any{"items": items}
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
	} else {
		data = append(data, '\n')
	}
	_, err = w.Write(data)
	return err
}

// printJSONPath runs a kubectl JSONPath template ({.items[*].id}) over the JSON form of
// {"items": items}, as kubectl -o jsonpath does.
func printJSONPath(w io.Writer, tmpl string, items any) error {
	jp := jsonpath.New("out").AllowMissingKeys(true)
	if err := jp.Parse(tmpl); err != nil {
		return usageError{fmt.Errorf("--output jsonpath=%s: %w", tmpl, err)}
	}
	data, err := json.Marshal(map[string]any{"items": items})
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if err := jp.Execute(w, v); err != nil {
		return usageError{fmt.Errorf("--output jsonpath=%s: %w", tmpl, err)}
	}
	return nil
}

// hideFlags hides registered flags that do not apply to cmd, so its help lists only flags that
// do.
func hideFlags(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		_ = cmd.Flags().MarkHidden(n)
	}
}
