module github.com/streamdemo/streamdemo

go 1.26

require (
	github.com/joho/godotenv v1.5.1
	github.com/sashabaranov/go-openai v1.43.0
)
