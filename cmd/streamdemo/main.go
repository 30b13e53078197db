// Command streamdemo asks a model a question and streams the answer to the
// terminal, records a real answer event by event, and runs the practice
// server that stands in for LLM services and the class gateway.
//
// "streamdemo help" lists the commands and "streamdemo COMMAND -h" shows a
// command's flags; the README's table of commands is built from the same
// definitions.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// commands are streamdemo's commands, in the order help lists them. No
// command's name is the start of another's.
var commands = []command{
	askCommand, resolveCommand, recordCommand, serveCommand,
	gatewayServeCommand, tokenAddCommand, tokenRevokeCommand, usageCommand,
	limitsCommand, pauseCommand, resumeCommand, priceCommand, modelsCommand,
}

func main() { os.Exit(execute(os.Args[1:])) }

// execute runs the command args name and returns the exit status: 0, 1 when
// the command failed (one sentence on stderr), or 2 when the command line
// was wrong (what, and the usage, on stderr).
func execute(args []string) int {
	c, rest := find(args)
	if c == nil {
		return help(args[:len(args)-len(rest)], rest)
	}
	do, err := c.parse(rest)
	if errors.Is(err, flag.ErrHelp) {
		c.printUsage(os.Stdout)
		return 0
	}
	if err == nil {
		err = do()
	}
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(os.Stderr, "streamdemo %s: %s\nusage: %s\nRun \"streamdemo %s -h\" for the flags.\n", c.name, usage.problem, c.synopsis(), c.name)
		return 2
	}
	fmt.Fprintln(os.Stderr, sentence(err))
	return 1
}

// find returns the command args name and the arguments after its name. For
// none, it returns nil and what follows the words that begin some command's
// name ("gateway token" begins "gateway token add").
func find(args []string) (*command, []string) {
	named := 0
	for i, c := range commands {
		words := strings.Fields(c.name)
		n := 0
		for n < len(words) && n < len(args) && args[n] == words[n] {
			n++
		}
		if n == len(words) {
			return &commands[i], args[n:]
		}
		named = max(named, n)
	}
	return nil, args[named:]
}

// help answers a command line that names no command: the commands whose
// names begin with the words given (all of them for none). Asked for, the
// list goes to stdout; otherwise it follows what was wrong, on stderr.
func help(words, rest []string) int {
	family := strings.Join(words, " ")
	var cmds []command
	for _, c := range commands {
		if family == "" || strings.HasPrefix(c.name, family+" ") {
			cmds = append(cmds, c)
		}
	}
	asked := len(rest) > 0 && slices.Contains([]string{"-h", "-help", "--help", "help"}, rest[0])
	var w io.Writer = os.Stderr
	switch {
	case asked:
		w = os.Stdout
	case len(rest) > 0:
		fmt.Fprintf(w, "%s: unknown command %q\n", strings.TrimSpace("streamdemo "+family), rest[0])
	}
	if len(words) == 0 {
		fmt.Fprintln(w, "streamdemo asks a model and streams the answer, records answers, and runs the practice server and the class gateway.")
	}
	fmt.Fprintln(w, "usage:")
	printList(w, cmds)
	fmt.Fprintln(w, `Run "streamdemo COMMAND -h" for a command's flags.`)
	if asked {
		return 0
	}
	return 2
}
