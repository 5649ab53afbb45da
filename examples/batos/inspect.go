package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/batos-dev/batos/examples/batos/internal/imageview"
	"github.com/batos-dev/batos/examples/batos/internal/kernel"
	"github.com/batos-dev/batos/uvm"
	"github.com/spf13/cobra"
)

func (a *app) inspectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inspect [OBJECT [SELECTOR]]",
		Short: "Show the roots, an object (slots, parents, methods with versions), or one method's versions and source",
		Long: `Without arguments: the image's roots, each with its counts of slots and
methods, and how many cycles are recorded. With OBJECT (an OID or a root
name): its root names, parents, slots, and methods with their current
version and how many versions are kept. With OBJECT SELECTOR: every kept
version of that method and the current one's source.`,
		Example: `  batos inspect
  batos inspect genesis
  batos inspect genesis greet_the_architect --json`,
		Args: cobra.MaximumNArgs(2),
		RunE: run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var out any
			var err error
			if a.kernel != "" {
				out, err = a.inspectRemote(ctx, args)
			} else {
				out, err = a.inspectLocal(ctx, args)
			}
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(out)
			}
			switch v := out.(type) {
			case imageview.Summary:
				printSummary(a.stdout, a.image, v)
			case imageview.Object:
				printObject(a.stdout, v)
			case kernel.MethodVersions:
				printVersions(a.stdout, v)
			}
			return nil
		}),
	}
	a.clientFlags(cmd)
	return cmd
}

func (a *app) inspectLocal(ctx context.Context, args []string) (any, error) {
	im, err := a.openImage()
	if err != nil {
		return nil, err
	}
	defer im.Close()
	var out any
	err = im.View(ctx, func(tx *uvm.Tx) error {
		if len(args) == 0 {
			s, err := imageview.Summarize(tx)
			out = s
			return err
		}
		o, err := imageview.Resolve(tx, args[0])
		if err != nil {
			return err
		}
		if len(args) == 1 {
			obj, err := imageview.Inspect(tx, o)
			out = obj
			return err
		}
		versions, current, err := imageview.Versions(tx, o, args[1])
		out = kernel.MethodVersions{Object: o.OID(), Selector: args[1], Current: current, Versions: versions}
		return err
	})
	return out, err
}

func (a *app) inspectRemote(ctx context.Context, args []string) (any, error) {
	c, err := a.client()
	if err != nil {
		return nil, err
	}
	switch len(args) {
	case 0:
		var s imageview.Summary
		return s, c.do(ctx, "GET", "/api/objects", nil, &s)
	case 1:
		var o imageview.Object
		return o, c.do(ctx, "GET", "/api/objects/"+url.PathEscape(args[0]), nil, &o)
	}
	var m kernel.MethodVersions
	return m, c.do(ctx, "GET", "/api/objects/"+url.PathEscape(args[0])+"/methods/"+url.PathEscape(args[1]), nil, &m)
}

func printSummary(w io.Writer, image string, s imageview.Summary) {
	fmt.Fprintf(w, "image %s: %d roots, %d cycles recorded\n\n", image, len(s.Roots), s.Cycles)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOT\tOID\tSLOTS\tMETHODS")
	for _, r := range s.Roots {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", r.Name, r.OID, r.Slots, r.Methods)
	}
	tw.Flush()
}

func printObject(w io.Writer, o imageview.Object) {
	title := fmt.Sprintf("object %d", o.OID)
	if len(o.Names) > 0 {
		title += " (" + strings.Join(o.Names, ", ") + ")"
	}
	fmt.Fprintln(w, title)
	parents := make([]string, len(o.Parents))
	for i, p := range o.Parents {
		parents[i] = objectName(p)
	}
	if len(parents) == 0 {
		parents = []string{"none"}
	}
	fmt.Fprintf(w, "parents: %s\n", strings.Join(parents, ", "))
	fmt.Fprintf(w, "\nslots (%d):\n", len(o.Slots))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range o.Slots {
		kind := s.Type
		if s.Kind != imageview.KindData {
			kind = s.Kind
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Name, kind, slotText(s))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmethods (%d):\n", len(o.Methods))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, m := range o.Methods {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d lines\n", m.Selector, versionText(m), orDash(m.Persona), cycleText(m.CycleID), m.Lines)
	}
	tw.Flush()
}

func slotText(s imageview.Slot) string {
	switch s.Kind {
	case imageview.KindRef:
		if l, ok := s.Value.(imageview.Link); ok {
			return "→ " + objectName(l)
		}
		if m, ok := s.Value.(map[string]any); ok { // decoded from a kernel's JSON
			oid, _ := m["oid"].(float64)
			name, _ := m["name"].(string)
			return "→ " + objectName(imageview.Link{OID: uvm.OID(oid), Name: name})
		}
	case imageview.KindPrimitive:
		return fmt.Sprintf("primitive %v", s.Value)
	}
	text := plainText(s.Value)
	const max = 80
	if len(text) > max {
		text = truncRunes(text, max) + "…"
	}
	switch {
	case s.Truncated && s.Type == "string":
		text += fmt.Sprintf("  (%d bytes)", s.Len)
	case s.Truncated:
		text += fmt.Sprintf("  (%d elements, first shown)", s.Len)
	case s.Type == "list" || s.Type == "map":
		text += fmt.Sprintf("  (%d)", s.Len)
	}
	return text
}

func truncRunes(s string, n int) string {
	for i := range s {
		if i >= n {
			return s[:i]
		}
	}
	return s
}

func versionText(m imageview.Method) string {
	plural := "s"
	if m.Versions == 1 {
		plural = ""
	}
	return fmt.Sprintf("v%d (%d version%s)", m.Version, m.Versions, plural)
}

func cycleText(id string) string {
	if id == "" {
		return "-"
	}
	return "cycle " + id
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printVersions(w io.Writer, mv kernel.MethodVersions) {
	fmt.Fprintf(w, "%s on object %d: v%d is current, %d version(s) kept\n\n", mv.Selector, mv.Object, mv.Current, len(mv.Versions))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var current imageview.Method
	for _, v := range mv.Versions {
		mark := ""
		if v.Version == mv.Current {
			mark, current = "*", v
		}
		fmt.Fprintf(tw, "%s v%d\t%s\t%s\t%s\t%d lines\n", mark, v.Version, v.Created.Local().Format("2006-01-02 15:04:05"), orDash(v.Persona), cycleText(v.CycleID), v.Lines)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n──── v%d\n%s\n────\n", current.Version, strings.TrimRight(current.Source, "\n"))
}
