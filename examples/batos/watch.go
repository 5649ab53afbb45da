package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/watchdog"
	"github.com/spf13/cobra"
)

func (a *app) watchCmd() *cobra.Command {
	var cfg serveConfig
	var wd watchdog.Options
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Run the kernel (batos serve) under a watchdog that restarts it when it dies",
		Long: `Run 'batos serve' with the same flags as a child process and restart it
when it dies, after a backoff that doubles with each quick crash, at most
--max-restarts times per --restart-window. SIGINT and SIGTERM are forwarded
to the kernel, which shuts down gracefully; then watch exits 0. A kernel
that stops by itself with status 0 stops the watchdog too; one that exits
with status 2 (a usage error) is not restarted.

The image is the kernel's identity: a restarted kernel opens it and carries
on; every send it acknowledged before dying is in it.`,
		Example: `  batos watch --addr 127.0.0.1:8377
  batos watch --image /var/lib/batos --max-restarts 10`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			if err := cfg.check(a.token); err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			childArgs := a.kernelArgs(cfg)
			wd.Command = func() *exec.Cmd {
				c := exec.Command(exe, childArgs...)
				c.Stdout, c.Stderr = a.stdout, a.stderr
				c.Env = os.Environ()
				if a.token != "" {
					c.Env = append(c.Env, envToken+"="+a.token) // not on the command line, where ps shows it
				}
				return c
			}
			wd.StopTimeout = cfg.grace + 15*time.Second // the kernel's own grace, then some
			wd.Logger = slog.New(slog.NewTextHandler(a.stderr, nil))
			signals := make(chan os.Signal, 2)
			a.notify(signals, os.Interrupt, syscall.SIGTERM)
			defer a.stopNotify(signals)
			err = watchdog.Run(cmd.Context(), signals, wd)
			if errors.Is(err, watchdog.ErrUsage) {
				return &exitError{exitUsage, fmt.Errorf("the kernel refused its command line: %w", err)}
			}
			return err
		}),
	}
	addServeFlags(cmd.Flags(), &cfg, &a.token)
	f := cmd.Flags()
	f.IntVar(&wd.MaxRestarts, "max-restarts", 5, "restarts allowed within --restart-window; one more crash stops the watchdog (exit 1)")
	f.DurationVar(&wd.Window, "restart-window", time.Minute, "the window --max-restarts counts over")
	f.DurationVar(&wd.MinBackoff, "backoff", 100*time.Millisecond, "wait before the first restart; doubles with each quick crash")
	f.DurationVar(&wd.MaxBackoff, "max-backoff", 10*time.Second, "longest wait before a restart")
	f.DurationVar(&wd.StableAfter, "stable-after", 30*time.Second, "a kernel that ran this long restarts after --backoff again")
	return cmd
}

// kernelArgs is the command line of the watched kernel: serve with this
// command's image, model, policy and kernel flags (the token travels in
// the environment).
func (a *app) kernelArgs(cfg serveConfig) []string {
	args := []string{"serve", "--image=" + a.image, "--addr=" + cfg.addr,
		"--grace=" + cfg.grace.String(), "--workers=" + strconv.Itoa(cfg.workers),
		"--queue=" + strconv.Itoa(cfg.queue), "--max-body=" + strconv.FormatInt(cfg.maxBody, 10),
		"--send-timeout=" + cfg.sendTimeout.String()}
	if cfg.addrFile != "" {
		args = append(args, "--addr-file="+cfg.addrFile)
	}
	if a.model != "" {
		args = append(args, "--model="+a.model)
	}
	if a.policy != "" {
		args = append(args, "--policy="+a.policy)
	}
	return args
}
