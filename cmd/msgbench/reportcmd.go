package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

// runReport renders a Markdown report from JSON results:
//
//	msgbench report -o report.md [-title T] [-note text]... a.json b.json
//
// A run's plot is linked when a file named like its JSON with .svg beside it
// exists.
func runReport(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("msgbench report", flag.ContinueOnError)
	out := fs.String("o", "", "write the report here (default: standard output)")
	title := fs.String("title", "msgbench report", "title of the report")
	var notes multi
	fs.Var(&notes, "note", "a paragraph under the title (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("report: no JSON results given")
	}
	var runs []report.Run
	svgs := map[string]string{}
	base := "."
	if *out != "" {
		base = filepath.Dir(*out)
	}
	for _, path := range fs.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var r report.Run
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		runs = append(runs, r)
		svg := strings.TrimSuffix(path, filepath.Ext(path)) + ".svg"
		if _, err := os.Stat(svg); err == nil {
			if rel, err := filepath.Rel(base, svg); err == nil {
				svgs[r.Label] = rel
			}
		}
	}
	var sb strings.Builder
	err := report.Markdown(&sb, report.MarkdownOptions{
		Title:    *title,
		Preamble: notes,
		Runs:     runs,
		Image:    func(r report.Run) string { return svgs[r.Label] },
	})
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = io.WriteString(stdout, sb.String())
		return err
	}
	return writeFile(*out, []byte(sb.String()))
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, "\n") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }
