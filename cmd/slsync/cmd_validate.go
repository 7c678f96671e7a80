package main

import "errors"

// ValidateCmd is not built yet.
type ValidateCmd struct{}

func (c *ValidateCmd) Run(app *App) error { return errors.New("validate: not implemented yet") }
