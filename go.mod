module github.com/streamdemo/streamdemo

go 1.26

require (
	github.com/janpfeifer/gonb v0.11.4
	github.com/joho/godotenv v1.5.1
	github.com/sashabaranov/go-openai v1.43.0
)

require (
	github.com/go-logr/logr v1.4.2 // indirect
	github.com/gofrs/uuid v4.4.0+incompatible // indirect
	github.com/pkg/errors v0.9.1 // indirect
	golang.org/x/exp v0.0.0-20250106191152-7588d65b2ba8 // indirect
	k8s.io/klog/v2 v2.130.1 // indirect
)
