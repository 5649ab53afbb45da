package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/psm"
	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// defaultAddr is where the kernel listens by default: loopback only.
const defaultAddr = "127.0.0.1:8377"

// serveConfig holds the kernel's flags (shared by serve and watch).
type serveConfig struct {
	addr        string
	addrFile    string
	grace       time.Duration
	workers     int
	queue       int
	maxBody     int64
	sendTimeout time.Duration
	name        string // among the kernels sharing a postgres:// image
}

func addServeFlags(fs *pflag.FlagSet, c *serveConfig, token *string) {
	d := kernel.DefaultOptions()
	fs.StringVar(&c.addr, "addr", defaultAddr, "address to listen on; anything but loopback needs --token")
	fs.StringVar(token, "token", "", "bearer token every request must carry (default $"+envToken+"); required beyond loopback")
	fs.StringVar(&c.addrFile, "addr-file", "", "write the listening address and pid here (JSON) once serving")
	fs.DurationVar(&c.grace, "grace", 30*time.Second, "on SIGINT/SIGTERM, how long running sends may take to finish before they are cancelled")
	fs.IntVar(&c.workers, "workers", d.Workers, "sends run at once")
	fs.IntVar(&c.queue, "queue", d.Queue, "sends that may wait for a worker; one more answers 503")
	fs.Int64Var(&c.maxBody, "max-body", d.MaxBody, "largest request body, in bytes")
	fs.DurationVar(&c.sendTimeout, "send-timeout", 0, "bound on one send, cycle included (0: none)")
	fs.StringVar(&c.name, "name", "", "this kernel's name among the kernels serving one postgres:// image; unique per process (default: host, pid and a random tail)")
}

// check refuses a configuration the kernel must not start with.
func (c *serveConfig) check(token string) error {
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return usagef("--addr %q: %w", c.addr, err)
	}
	if token == "" && !isLoopback(host) {
		return usagef("--addr %s listens beyond loopback: give a bearer token with --token or $%s", c.addr, envToken)
	}
	if c.grace < 0 || c.workers < 1 || c.queue < 1 || c.maxBody < 1 || c.sendTimeout < 0 {
		return usagef("--grace, --send-timeout ≥ 0 and --workers, --queue, --max-body ≥ 1, please")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (a *app) serveCmd() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the image over HTTP: the kernel",
		Long: `Serve the image: HTTP/JSON on 127.0.0.1:8377 by default. POST /api/send sends
a message; GET /api/objects, /api/objects/{ref}, …/slots/{name},
…/methods/{selector}[/versions/{n}], /api/cycles and /api/cycles/{id} read
the image; GET /api/graph draws the object graph; POST /api/brief reads a
request in natural language into a mission brief; GET /api/events streams
live events (server-sent events); GET /metrics is for Prometheus;
GET /healthz needs no token. The inspector, a page that shows all of it
live, is at / (open it in a browser; with a token, as /?token=…).

Sends run on a pool of workers behind a bounded queue: a full queue answers
503 with Retry-After. SIGINT or SIGTERM stops accepting, lets running sends
finish within --grace (a second signal cuts it short), cancels the rest —
their cycles fail, leaving the image as it was — closes the image and exits 0.`,
		Example: `  batos serve
  BATOS_TOKEN=s3cret batos serve --addr 0.0.0.0:8377
  curl -s localhost:8377/api/send -d '{"object":"genesis","selector":"greet_the_architect","args":["Ada"]}'`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			return a.serve(cmd.Context(), cfg)
		}),
	}
	addServeFlags(cmd.Flags(), &cfg, &a.token)
	return cmd
}

// serve runs the kernel until a signal, then shuts it down gracefully.
func (a *app) serve(ctx context.Context, cfg serveConfig) error {
	if err := cfg.check(a.token); err != nil {
		return err
	}
	signals := make(chan os.Signal, 2)
	a.notify(signals, os.Interrupt, syscall.SIGTERM)
	defer a.stopNotify(signals)

	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts, model, err := a.mindOptions(logger)
	if err != nil {
		return err
	}
	opts.Kernel = cfg.name
	mind, err := psm.Open(ctx, a.image, opts)
	if errors.Is(err, uvm.ErrLocked) {
		return lockedError{a.image, err}
	}
	if err != nil {
		return err
	}
	k := kernel.New(mind, kernel.Options{
		Token: a.token, Workers: cfg.workers, Queue: cfg.queue, MaxBody: cfg.maxBody,
		SendTimeout: cfg.sendTimeout, Logger: logger,
	})
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		k.Shutdown(context.Background())
		mind.Close()
		return err
	}
	hs := &http.Server{
		Handler:           k.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	if cfg.addrFile != "" {
		if err := writeAddrFile(cfg.addrFile, url, ln.Addr().String()); err != nil {
			logger.Error("batos: writing the address file", "file", cfg.addrFile, "error", err)
		}
		defer os.Remove(cfg.addrFile)
	}
	logger.Info("batos kernel serving", "url", url, "image", a.image, "model", model, "pid", os.Getpid(), "token", a.token != "")

	var serveErr error
	select {
	case sig := <-signals:
		logger.Info("batos kernel shutting down", "signal", sig.String(), "grace", cfg.grace)
	case serveErr = <-served:
		logger.Error("batos kernel: serving failed", "error", serveErr)
	case <-ctx.Done():
		logger.Info("batos kernel shutting down", "reason", ctx.Err(), "grace", cfg.grace)
	}

	grace, cutShort := context.WithTimeout(context.Background(), cfg.grace)
	defer cutShort()
	go func() {
		select {
		case <-signals:
			logger.Warn("batos kernel: second signal, cancelling running sends")
			cutShort()
		case <-grace.Done():
		}
	}()
	// Stop accepting connections now; the handlers still running end as
	// soon as their sends do.
	httpDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.grace+10*time.Second)
		defer cancel()
		httpDone <- hs.Shutdown(ctx)
	}()
	if err := k.Shutdown(grace); err != nil {
		logger.Warn("batos kernel: grace period over, running sends were cancelled")
	}
	if err := <-httpDone; err != nil {
		hs.Close()
	}
	if err := mind.Close(); err != nil {
		return fmt.Errorf("closing the image: %w", err)
	}
	logger.Info("batos kernel stopped; image closed")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// addrFile is what --addr-file holds.
type addrFile struct {
	URL  string `json:"url"`
	Addr string `json:"addr"`
	PID  int    `json:"pid"`
}

// writeAddrFile writes the file whole or not at all (a rename), so a
// reader never sees half of it.
func writeAddrFile(path, url, addr string) error {
	b, err := json.Marshal(addrFile{URL: url, Addr: addr, PID: os.Getpid()})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".batos-addr-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
