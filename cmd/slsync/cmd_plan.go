package main

import "errors"

// PlanCmd is not built yet.
type PlanCmd struct{}

func (c *PlanCmd) Run(app *App) error { return errors.New("plan: not implemented yet") }
