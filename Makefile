# Every routine task has one short name here; the README lists the same names.
SHELL := /bin/bash
GO    ?= go
ADDR  ?= 127.0.0.1:8787

.PHONY: test gotest vet fuzz serve ask

## test: every test (go vet, go test, a short fuzz run)
test: vet gotest fuzz

vet:
	@test -z "$$(gofmt -l cmd internal pkg)" || { echo "gofmt needed on:"; gofmt -l cmd internal pkg; exit 1; }
	$(GO) vet ./...

gotest:
	$(GO) test -count=1 ./...

## fuzz: fuzz the event decoders for a fixed short time
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeChat -fuzztime=$(FUZZTIME) ./pkg/streamdemo
	$(GO) test -run='^$$' -fuzz=FuzzDecodeAgent -fuzztime=$(FUZZTIME) ./pkg/streamdemo

## serve: run the practice server on $(ADDR)
serve:
	$(GO) run ./cmd/streamdemo serve --addr $(ADDR)

## ask: ask the practice server the seed's question (make serve first)
ask:
	$(GO) run ./cmd/streamdemo ask --provider practice --base-url http://$(ADDR)/v1 "How many stars are in the universe?"
