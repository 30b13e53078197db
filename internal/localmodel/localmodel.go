// Package localmodel names the small model the kit runs on the learner's
// machine (kernel-setup/model.sh registers it with Ollama), so the library's
// Ollama default and the practice server's model list agree.
package localmodel

// Name is the local model's name.
const Name = "smollm2-135m"
