package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// A command is one of streamdemo's commands. Its flags are defined once, in
// setup: its -h, the list of commands and the README's table are all built
// from them.
type command struct {
	name string // the words after "streamdemo", e.g. "gateway token add"
	args string // its arguments as usage shows them, e.g. "NAME" or `"question"`
	does string // what it does, in a sentence
	// names says its arguments are names, which flags may also follow
	// ("token add ana --data class"); free text, such as a question,
	// comes after the flags.
	names bool
	// setup defines the command's flags on fs, and nothing else, and
	// returns what runs the command with the arguments left after them.
	setup func(fs *flag.FlagSet) (run func(args []string) error)
}

// usageError is a command line the command cannot run as given: the
// command's usage follows it, and the exit status is 2.
type usageError struct{ problem string }

func (e *usageError) Error() string { return e.problem }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// wantNames returns a usage error unless there are exactly n names.
func wantNames(names []string, n int, what string) error {
	if len(names) != n {
		return usagef("want %s, got %q", what, names)
	}
	return nil
}

// parse defines the command's flags, parses args and returns what runs it
// with the arguments left. A problem with the flags is a usage error;
// -h is flag.ErrHelp.
func (c command) parse(args []string) (run func() error, err error) {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the flag package's own usage text is not ours
	do := c.setup(fs)
	var rest []string
	if c.names {
		rest, err = parseNames(fs, args)
	} else {
		err = fs.Parse(args)
		rest = fs.Args()
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil, err
	}
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	return func() error { return do(rest) }, nil
}

// parseNames parses flags placed before or after the names ("token add ana
// --data class" reads as well as "token add --data class ana").
func parseNames(fs *flag.FlagSet, args []string) ([]string, error) {
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return names, nil
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// synopsis is the command's usage line, e.g. "streamdemo gateway token add [flags] NAME".
func (c command) synopsis() string {
	return strings.TrimSpace("streamdemo " + c.name + " [flags] " + c.args)
}

// flagDoc is one flag as usage shows it: --name VALUE, what it sets, and
// its default when not the zero value.
type flagDoc struct{ name, value, usage, def string }

func (d flagDoc) String() string { return strings.TrimSpace("--" + d.name + " " + d.value) }

// flags are the command's flags, in the order of their names.
func (c command) flags() []flagDoc {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	var docs []flagDoc
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		d := flagDoc{name: f.Name, value: value, usage: usage}
		switch f.DefValue {
		case "", "0", "false", "0s":
		default:
			d.def = f.DefValue
		}
		docs = append(docs, d)
	})
	return docs
}

// printUsage writes what -h shows: the usage line, what the command does,
// and each flag.
func (c command) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n\n", c.synopsis(), c.does)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range c.flags() {
		usage := f.usage
		if f.def != "" {
			usage += " (default " + f.def + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", f, usage)
	}
	tw.Flush()
}

// printList writes the usage line and what each command does.
func printList(w io.Writer, cmds []command) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.synopsis(), c.does)
	}
	tw.Flush()
}

// tableRow is the command's row in the README's table of commands.
func (c command) tableRow() string {
	var flags []string
	for _, f := range c.flags() {
		flags = append(flags, "`"+f.String()+"`")
	}
	return fmt.Sprintf("| `%s` | %s | %s |", strings.TrimSpace("streamdemo "+c.name+" "+c.args), strings.Join(flags, " "), c.does)
}
