package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// envMainArgs, when set, makes the test binary run main() with these
// arguments (JSON list) instead of the tests: runMain uses it to check exit
// codes and what reaches stderr.
const envMainArgs = "SCEAU_TEST_MAIN_ARGS"

func TestMain(m *testing.M) {
	if raw, ok := os.LookupEnv(envMainArgs); ok {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			panic(err)
		}
		os.Args = append([]string{"sceau"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs `sceau args...` as a separate process, with the test's
// environment, and returns its output and exit code.
func runMain(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envMainArgs+"="+string(raw))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("sceau %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

func TestMainExitCodes(t *testing.T) {
	_, cfgPath := initData(t)
	a := setListeners(t)

	stdout, _, code := runMain(t, "version")
	if code != 0 || !strings.HasPrefix(stdout, "sceau ") {
		t.Errorf("sceau version: exit %d, stdout %q", code, stdout)
	}

	_, stderr, code := runMain(t, "servez")
	if code != 1 || !strings.HasPrefix(stderr, `sceau: unknown command "servez"`) {
		t.Errorf("sceau servez: exit %d, stderr %q", code, stderr)
	}

	t.Setenv("SCEAU_DATABASE_DRIVER", "oracle")
	t.Setenv("SCEAU_MAIL_FROM", "")
	stdout, stderr, code = runMain(t, "serve", "--config", cfgPath)
	if code != 1 {
		t.Errorf("serve with an invalid configuration: exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	// A header naming the file, then one line per problem.
	d, m := lineOf(stderr, "database.driver:"), lineOf(stderr, "mail.from:")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "sceau: invalid configuration "+cfgPath) ||
		d < 1 || m < 1 || d == m {
		t.Errorf("stderr:\n%s", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	assertNotListening(t, a.all()...)
}
