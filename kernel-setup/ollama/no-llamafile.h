/* Force-included into Ollama's C/C++ code by kernel-setup/model.sh (CGO_CPPFLAGS=-include ...).
 * Turns off ggml's llamafile matrix kernels: with them, a prompt evaluated in one batch and the same
 * prompt partly reused from the KV cache give slightly different logits, so "temperature 0" answers
 * change between the first and later requests. Without them answers repeat; generating is as fast,
 * evaluating a long prompt somewhat slower. */
#undef GGML_USE_LLAMAFILE
