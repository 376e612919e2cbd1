# lowbit: two commands.
#   make demo   install missing Debian packages, build Release, run the bundled model
#   make test   same set-up, then every test through ctest
BUILD   ?= build
SHARED  ?= $(abspath ../shared)
JOBS    ?= $(shell nproc)
PKGS    := $(shell grep -v '^\s*\#' deps/debian-packages.txt | grep -v '^\s*$$')
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build demo test bench clean

all: build

# Install only what is missing, so a set-up machine does no network work.
deps:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(BUILD)/build.ninja: CMakeLists.txt deps/debian-packages.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOWBIT_SHARED_DIR=$(SHARED)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/lowbit inspect models/stories260K
	./$(BUILD)/lowbit run models/stories260K -n 64 --greedy --prompt "Once upon a time"
	./$(BUILD)/lowbit eval models/stories260K --text $(SHARED)/data/tinystories/tinystories-valid-head-eval.txt --max-chunks 40
	./$(BUILD)/lowbit quantize models/stories260K --to gguf:Q8_0 -o $(BUILD)/stories260K-Q8_0.gguf
	./$(BUILD)/lowbit eval $(BUILD)/stories260K-Q8_0.gguf --text $(SHARED)/data/tinystories/tinystories-valid-head-eval.txt --max-chunks 40
	./$(BUILD)/lowbit bench models/stories260K -t 1,2 -r 3

test: build
	cd $(BUILD) && LOWBIT_SHARED_DIR=$(SHARED) ctest --output-on-failure -j $(JOBS)

bench: build
	./$(BUILD)/lowbit bench models/stories260K -t 1,2

clean:
	rm -rf $(BUILD)
