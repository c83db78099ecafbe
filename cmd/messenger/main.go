// Command messenger runs the messenger server. With no configuration it runs
// the embedded default; docs/configuration.md lists the environment it reads.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/messenger-go/messenger/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "messenger:", err)
		os.Exit(1)
	}
}
