# Sceau — the two commands that matter: `make run` and `make test`.
GO      ?= go
# The machine's Go 1.26.8 standard library has known vulnerabilities
# (govulncheck); 1.27.3 fixes them. go.mod still accepts 1.26.8, so a plain
# `go build` works too; builds made through make use the fixed toolchain.
export GOTOOLCHAIN ?= go1.27.3
DATA    ?= data
BIN     := bin/sceau
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: build build-pkcs11 run test test-pkcs11 test-short e2e check fmt vet vuln clean

# The default binary is pure Go (no cgo, hence no PKCS#11).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sceau

# With PKCS#11 support (intermediate CA key in an HSM): needs cgo and a C
# compiler.
build-pkcs11:
	CGO_ENABLED=1 $(GO) build -tags pkcs11 -trimpath -ldflags "$(LDFLAGS)" -o bin/sceau-pkcs11 ./cmd/sceau

# First run: initialise $(DATA) (embedded default: SQLite, local files,
# mail sink, demo identities and a demo case). Then say how to connect, and
# serve it.
run: build
	@test -f $(DATA)/sceau.toml || ./$(BIN) init --data $(DATA) --demo-case
	@printf '%s\n' '' \
	  'Sceau demo' \
	  '  portal   https://localhost:8443   (asks for a client certificate)' \
	  '  counter  https://localhost:8444   (certificate collection; sent mail at https://localhost:8444/dev/mail)' \
	  '  demo identities (PKCS#12): $(DATA)/demo/identities/ -- passwords in $(DATA)/demo/LISEZ-MOI.txt' \
	  '  the demo expert (expert-pierre-durand.p12) owns a demo case; experte-anne-moreau.p12 can try the registration' \
	  '  Chromium/Chrome: Settings > Privacy and security > Security > Manage certificates > Your certificates > Import' \
	  '    (Linux, browser closed: pk12util -d sql:$$HOME/.pki/nssdb -i $(DATA)/demo/identities/expert-pierre-durand.p12' \
	  '     and certutil -d sql:$$HOME/.pki/nssdb -A -t C,, -n "Sceau demo" -i $(DATA)/ca/root.crt to trust the server)' \
	  '  Firefox: Settings > Privacy & Security > Certificates > View Certificates > Your Certificates > Import' \
	  '    (and Authorities > Import $(DATA)/ca/root.crt, "trust to identify websites")' \
	  ''
	./$(BIN) serve --config $(DATA)/sceau.toml

# Every test, storage tests on SQLite and on PostgreSQL. Without
# SCEAU_TEST_DATABASE_URL a throw-away PostgreSQL cluster is started from the
# installed binaries and removed afterwards.
test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt: these files need formatting:"; gofmt -l .; exit 1; }
	.ci/with-postgres $(GO) test -count=1 ./...
	CGO_ENABLED=1 .ci/with-postgres $(GO) test -tags pkcs11 -count=1 ./ca/...
	$(MAKE) e2e

# Browser end-to-end tests in headless Debian Chromium (portal/e2e): the
# three journeys, the NSS-imported certificate, axe-core on every page,
# screenshots in portal/e2e/out/. Skipped loudly without Chromium; a
# failure under CI=true.
e2e: build
	portal/e2e/run.sh

# The CA with its intermediate key in a throw-away SoftHSM2 token (cgo,
# -tags pkcs11). Skipped loudly without softhsm2; a failure under CI=true.
test-pkcs11:
	CGO_ENABLED=1 .ci/with-postgres $(GO) test -tags pkcs11 -count=1 ./ca/...

# Quick feedback: SQLite only, no PostgreSQL cluster.
test-short:
	$(GO) test -count=1 ./...

check: fmt vet vuln

fmt:
	@out=$$(gofmt -l .); test -z "$$out" || { echo "$$out"; exit 1; }

vet:
	$(GO) vet ./...
	CGO_ENABLED=1 $(GO) vet -tags pkcs11 ./ca/...

# govulncheck with a database built from the golang.org/x/vulndb module
# (served by the Go module proxy; vuln.go.dev itself may be unreachable).
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
VULNDB_DIR     := $(or $(TMPDIR),/tmp)/sceau-vulndb-$(VULNDB_VERSION)
vuln:
	@test -d $(VULNDB_DIR)/index || { \
	  src=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'); \
	  $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns $$src/data/osv -out $(VULNDB_DIR); }
	$(GO) run golang.org/x/vuln/cmd/govulncheck@v1.9.0 -db file://$(VULNDB_DIR) ./...

clean:
	rm -rf bin
