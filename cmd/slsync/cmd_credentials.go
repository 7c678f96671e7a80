package main

import "errors"

// CredentialsCmd is not built yet.
type CredentialsCmd struct{}

func (c *CredentialsCmd) Run(app *App) error { return errors.New("credentials: not implemented yet") }
