package main

import "errors"

// ApplyCmd is not built yet.
type ApplyCmd struct{}

func (c *ApplyCmd) Run(app *App) error { return errors.New("apply: not implemented yet") }
