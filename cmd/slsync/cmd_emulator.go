package main

import "errors"

// EmulatorCmd is not built yet.
type EmulatorCmd struct{}

func (c *EmulatorCmd) Run(app *App) error { return errors.New("emulator: not implemented yet") }
