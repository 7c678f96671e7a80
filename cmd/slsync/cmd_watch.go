package main

import "errors"

// WatchCmd is not built yet.
type WatchCmd struct{}

func (c *WatchCmd) Run(app *App) error { return errors.New("watch: not implemented yet") }
