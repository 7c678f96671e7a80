package main

import "errors"

// ExportCmd is not built yet.
type ExportCmd struct{}

func (c *ExportCmd) Run(app *App) error { return errors.New("export: not implemented yet") }
