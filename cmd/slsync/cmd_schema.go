package main

import "errors"

// SchemaCmd is not built yet.
type SchemaCmd struct{}

func (c *SchemaCmd) Run(app *App) error { return errors.New("schema: not implemented yet") }
