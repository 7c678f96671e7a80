package main

import (
	"github.com/slsync/slsync/schema"
)

// SchemaCmd prints the embedded manifest JSON Schema.
type SchemaCmd struct{}

// Help is shown by "slsync schema --help".
func (c *SchemaCmd) Help() string {
	return `Prints the manifest JSON Schema (draft 2020-12) that "slsync validate" checks
against, so that editors can offer completion, hover documentation and inline
errors. With yaml-language-server (VS Code YAML extension, Neovim, Helix, ...):

  slsync schema > manifest.schema.json

and start each manifest with the modeline

  # yaml-language-server: $schema=manifest.schema.json

(a path relative to the manifest, or the schema's URL
` + schema.URL + `).`
}

func (c *SchemaCmd) Run(app *App) error {
	_, err := app.Stdout.Write(schema.JSON)
	return err
}
