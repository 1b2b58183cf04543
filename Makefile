# pith — build, test, demo. Outputs go under build/.
#   make            library + CLI (build/pith, build/libpith.a)
#   make test       install missing Debian packages, build, run every cmocka test
#   make asan       the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan       the runtime's tests (thread pool, kernels on 3 threads) under ThreadSanitizer
#   make demo       install, build, train fmnist-cnn for 5 epochs, evaluate, summarise
#   make test-slurm a sweep submitted with sbatch to a one-node Slurm on localhost (cancel, re-submit)
#   make runtime-alone  a copy of runtime/ by itself built with its own Makefile, and tested
#   make runtime    the runtime alone, as on the board: build/runtime/{libpithrt.a,pithrt-bench,pithrt-run,pithrt-test}
#   make CROSS=aarch64-linux-gnu-   the same for aarch64, in build/aarch64-linux-gnu/
#   make test-arm   the runtime's tests for aarch64 under QEMU (Cortex-A76 with SDOT, Cortex-A53 without)
#   make fuzz       libFuzzer on the .pith loader and kernels (FUZZ_SECONDS=60)
#   make bench      build/bench/train_speed (pith vs PyTorch training speed), build/bench/qat_speed,
#                   build/bench/image_loader (JPEG decoding + resizing vs Pillow)
#   make plots      charts from results/runs.tsv into results/plots/
#   make install PREFIX=/usr/local
#   make golden     regenerate tests/golden/ with PyTorch (needs python3-torch)

CC      ?= gcc
PREFIX  ?= /usr/local
BUILD   ?= build
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
# OpenBLAS built for OpenMP (hence -fopenmp: its thread count is each calling
# thread's OpenMP setting); the workbench keeps it on one thread on every
# thread of its own pool, which runs the parallel loops (core/threads.h).
BLAS_INC := /usr/include/$(MULTIARCH)/openblas-openmp
BLAS_LIB := /usr/lib/$(MULTIARCH)/openblas-openmp
HDF5_CFLAGS := $(shell pkg-config --cflags hdf5 2>/dev/null)
HDF5_LIBS   := $(shell pkg-config --libs hdf5 2>/dev/null)

MARCH   ?= -march=native
OPT     ?= -O3 $(MARCH)
CFLAGS  ?= $(OPT) -g
# The ONNX importer's parser: C that protoc-c generates from the onnx.proto
# of Debian's libonnx-dev, at build time, into $(GEN).
GEN        := $(BUILD)/gen
# Image fixtures (tests/test_data.c, tests/board_image.sh, fuzz_image's corpus):
# PNG/JPEG trees, odd files, CIFAR batches and Pillow's decoded and resized
# pixels, made from Fashion-MNIST, sklearn's digits and known arrays.
IMAGE_FIXTURES := $(BUILD)/fixtures/images
ONNX_PROTO ?= /usr/include/onnx/onnx.proto
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wno-unknown-pragmas -fopenmp \
             -I$(BLAS_INC) $(HDF5_CFLAGS) -I$(GEN) $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL = -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -llapacke -lopenblas $(HDF5_LIBS) -lyaml -lprotobuf-c -lturbojpeg -lpng -lz -lm -fopenmp \
             -pthread $(EXTRA_LDFLAGS)

CORE_SRC := $(wildcard core/*.c core/ops/*.c data/*.c quant/*.c prune/*.c lowrank/*.c distill/*.c export/*.c experiments/*.c onnx/*.c \
              runtime/*.c runtime/kernels/*.c) $(GEN)/onnx.pb-c.c
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)

OBJDIR   := $(BUILD)/obj
CORE_OBJ := $(CORE_SRC:%.c=$(OBJDIR)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(OBJDIR)/%.o)
CLILIB_OBJ := $(filter-out $(OBJDIR)/cli/main.o,$(CLI_OBJ))
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: test-onnx runtime-alone test-slurm all test asan tsan demo bench install clean deps golden check-tests plots runtime fuzz cross test-arm test-runtime
all: $(BUILD)/pith $(BUILD)/libpith.a

# With CROSS set, make builds the runtime, its tools and its tests for that
# target (the workbench itself stays on the host).
ifneq ($(CROSS),)
.DEFAULT_GOAL := cross
endif
cross:
	@$(MAKE) --no-print-directory -C runtime CROSS=$(CROSS) OUT=$(abspath $(BUILD))/$(patsubst %-,%,$(CROSS))

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FILE_CFLAGS) -MMD -MP -c $< -o $@

# im2col/col2im copy and zero rows of a few floats: GCC would turn those loops
# into memset/memcpy calls, which cost more than the copies themselves.
$(OBJDIR)/core/ops/conv2d.o: FILE_CFLAGS = -fno-tree-loop-distribute-patterns
# batchnorm recomputes a fused activation's mask in backward from the same
# expression as forward; without contraction both round it the same way.
$(OBJDIR)/core/ops/batchnorm.o: FILE_CFLAGS = -ffp-contract=off

$(GEN)/onnx.pb-c.c $(GEN)/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(GEN)
	cp $(ONNX_PROTO) $(GEN)/onnx.proto && cd $(GEN) && protoc-c --c_out=. onnx.proto
$(filter $(OBJDIR)/onnx/%,$(CORE_OBJ)) $(OBJDIR)/tests/onnx_nodes.o: | $(GEN)/onnx.pb-c.h
# generated code: not ours to warn about
$(OBJDIR)/$(GEN)/onnx.pb-c.o: FILE_CFLAGS = -w

$(BUILD)/libpith.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libpithcli.a: $(CLILIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/pith: $(OBJDIR)/cli/main.o $(BUILD)/libpithcli.a $(BUILD)/libpith.a
	$(CC) $(ALL_CFLAGS) -o $@ $(OBJDIR)/cli/main.o $(BUILD)/libpithcli.a $(BUILD)/libpith.a $(LDLIBS_ALL)

$(BUILD)/tests/%: $(OBJDIR)/tests/%.o $(OBJDIR)/tests/testutil.o $(BUILD)/libpithcli.a $(BUILD)/libpith.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(OBJDIR)/tests/testutil.o $(BUILD)/libpithcli.a $(BUILD)/libpith.a $(LDLIBS_ALL) -lcmocka

# test tools that are not cmocka suites (tests/onnx_*.c)
$(BUILD)/tools/%: $(OBJDIR)/tests/%.o $(BUILD)/libpith.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libpith.a $(LDLIBS_ALL)

$(BUILD)/bench/%: $(OBJDIR)/bench/%.o $(BUILD)/libpith.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libpith.a $(LDLIBS_ALL)

deps:
	@sh scripts/deps.sh

# The runtime built by its own Makefile (C99, libc, libm and pthreads only).
runtime:
	@$(MAKE) --no-print-directory -C runtime OUT=$(abspath $(BUILD))/runtime

# The runtime as a user copies it to a board: its folder alone, nothing else
# of the repository beside it, built with its own Makefile and tested.
runtime-alone:
	@d=$$(mktemp -d) && cp -r runtime $$d/runtime && rm -rf $$d/runtime/build && \
	  $(MAKE) --no-print-directory -C $$d/runtime >$$d/log 2>&1 || { cat $$d/log; rm -rf $$d; exit 1; }; \
	  ls $$d/runtime/build/libpithrt.a $$d/runtime/build/pithrt-bench $$d/runtime/build/pithrt-run >/dev/null && \
	  $$d/runtime/build/pithrt-test --cases 50 >$$d/test.log 2>&1; rc=$$?; tail -1 $$d/test.log; rm -rf $$d; \
	  [ $$rc -eq 0 ] && echo "runtime/ builds and passes its tests alone"

# A sweep's job array on a one-node Slurm cluster started on localhost.
test-slurm: $(BUILD)/pith
	@sh scripts/deps.sh slurm
	bash tests/slurm_sweep.sh $(BUILD)/pith

# Models the runtime's tests compare kernel sets on, besides their random
# one-layer models: zoo architectures exported in fp32 and int8.
RT_TEST_MODELS := fmnist-cnn mobilenet-tiny resnet8
$(BUILD)/rt-models/.done: $(BUILD)/pith
	@mkdir -p $(dir $@)
	@for m in $(RT_TEST_MODELS); do \
	  $(BUILD)/pith export --model $$m --out $(dir $@)$$m.pith >/dev/null && \
	  $(BUILD)/pith export --model $$m --int8 --out $(dir $@)$$m-int8.pith >/dev/null || exit 1; done
	@touch $@

# The zoo's two ImageNet models as well, for the host's tests (layer by
# layer; too slow for QEMU): every fast path of a real network's shapes.
RT_ZOO_MODELS := mobilenet-v2 resnet18
$(BUILD)/rt-models/zoo/.done: $(BUILD)/pith
	@mkdir -p $(dir $@)
	@for m in $(RT_ZOO_MODELS); do \
	  $(BUILD)/pith export --model $$m --out $(dir $@)$$m.pith >/dev/null && \
	  $(BUILD)/pith export --model $$m --int8 --out $(dir $@)$$m-int8.pith >/dev/null || exit 1; done
	@touch $@

# Every fast kernel of this CPU against the reference kernels.
test-runtime: runtime $(BUILD)/rt-models/.done $(BUILD)/rt-models/zoo/.done $(IMAGE_FIXTURES)/.done
	$(BUILD)/runtime/pithrt-test --cases 400 $(BUILD)/rt-models/*.pith $(BUILD)/rt-models/zoo/*.pith
	sh tests/doc_examples.sh $(BUILD)/rt-models/fmnist-cnn-int8.pith $(BUILD)/runtime
	sh tests/board_image.sh $(BUILD)/pith $(BUILD)/runtime $(BUILD)/rt-models/fmnist-cnn-int8.pith $(IMAGE_FIXTURES)/odd/gray.pgm

# The same for aarch64 under QEMU: -cpu cortex-a76 has the dot product
# (the SDOT kernels run), -cpu cortex-a53 has not (the SMLAL kernels run).
ARM_OUT := $(abspath $(BUILD))/aarch64-linux-gnu
QEMU_ARM := qemu-aarch64 -L /usr/aarch64-linux-gnu
test-arm:
	@sh scripts/deps.sh arm
	@$(MAKE) --no-print-directory $(BUILD)/rt-models/.done
	@$(MAKE) --no-print-directory -C runtime CROSS=aarch64-linux-gnu- OUT=$(ARM_OUT)
	$(QEMU_ARM) -cpu cortex-a76 $(ARM_OUT)/pithrt-test --cases 300 $(BUILD)/rt-models/*.pith
	$(QEMU_ARM) -cpu cortex-a53 $(ARM_OUT)/pithrt-test --cases 300 $(BUILD)/rt-models/*.pith

# libFuzzer on the loader: the corpus starts from exported models (float and
# int8, plain and depthwise convs, residual adds).
FUZZ_SECONDS ?= 60
RT_SRC := $(wildcard runtime/*.c runtime/kernels/*.c)
$(BUILD)/fuzz/fuzz_loader: tests/fuzz_loader.c $(RT_SRC) $(wildcard runtime/*.h runtime/kernels/*.h)
	@mkdir -p $(dir $@)
	clang -std=c99 -D_POSIX_C_SOURCE=200809L -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -O1 -g -ffp-contract=off -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined -o $@ tests/fuzz_loader.c $(RT_SRC) -lm
# the ONNX importer and its protobuf code instrumented; the graph code it
# builds on from the plain library (its ops are ASan-tested by make asan)
FUZZ_ONNX_SRC := tests/fuzz_onnx.c $(wildcard onnx/*.c) $(GEN)/onnx.pb-c.c
$(BUILD)/fuzz/fuzz_onnx: $(FUZZ_ONNX_SRC) $(BUILD)/libpith.a
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -I$(BLAS_INC) -I$(GEN) -Wno-unknown-pragmas -o $@ $(FUZZ_ONNX_SRC) $(BUILD)/libpith.a \
	  -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -llapacke -lopenblas $(HDF5_LIBS) -lyaml -lprotobuf-c -lturbojpeg -lpng -lz -lm -lgomp -pthread

# decoders, resizing, list files and CIFAR batches instrumented; libjpeg-turbo and libpng as
# Debian builds them
FUZZ_IMAGE_SRC := tests/fuzz_image.c data/image.c data/decode_jpeg.c data/decode_png.c data/sources.c data/cifar.c \
  runtime/image.c core/error.c
$(BUILD)/fuzz/fuzz_image: $(FUZZ_IMAGE_SRC) $(wildcard data/*.h runtime/image.h)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o $@ $(FUZZ_IMAGE_SRC) -lturbojpeg -lpng -lz -lm
fuzz: $(BUILD)/fuzz/fuzz_loader $(BUILD)/fuzz/fuzz_onnx $(BUILD)/fuzz/fuzz_image $(BUILD)/pith $(IMAGE_FIXTURES)/.done
	@mkdir -p $(BUILD)/fuzz/corpus
	@for m in lenet5 mobilenet-tiny fmnist-cnn-slim; do \
	  $(BUILD)/pith export --model $$m --out $(BUILD)/fuzz/corpus/$$m.pith >/dev/null && \
	  $(BUILD)/pith export --model $$m --int8 --out $(BUILD)/fuzz/corpus/$$m-int8.pith >/dev/null || exit 1; done
	@# (the fuzzer's status, not tail's; a crash's input is kept in $(BUILD)/fuzz/)
	@$(BUILD)/fuzz/fuzz_loader -max_total_time=$(FUZZ_SECONDS) -max_len=400000 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus > $(BUILD)/fuzz/log 2>&1; rc=$$?; \
	  tail -12 $(BUILD)/fuzz/log; [ $$rc -eq 0 ] || exit $$rc
	@mkdir -p $(BUILD)/fuzz/onnx-corpus && cp tests/fixtures/onnx/*.onnx tests/fixtures/fuzz/onnx/*.onnx $(BUILD)/fuzz/onnx-corpus/
	@$(BUILD)/fuzz/fuzz_onnx -max_total_time=$(FUZZ_SECONDS) -max_len=1000000 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/onnx- $(BUILD)/fuzz/onnx-corpus > $(BUILD)/fuzz/onnx.log 2>&1; rc=$$?; \
	  tail -12 $(BUILD)/fuzz/onnx.log; [ $$rc -eq 0 ] || exit $$rc
	@mkdir -p $(BUILD)/fuzz/image-corpus && cp $(IMAGE_FIXTURES)/odd/*.jpg $(IMAGE_FIXTURES)/odd/*.png \
	  $(IMAGE_FIXTURES)/odd/*.ppm $(IMAGE_FIXTURES)/odd/*.pgm $(BUILD)/fuzz/image-corpus/ && \
	  { printf 'LIST\n'; cat $(IMAGE_FIXTURES)/labelled.txt; } > $(BUILD)/fuzz/image-corpus/list.txt && \
	  { printf 'CIFAR10\n'; head -c 6146 $(IMAGE_FIXTURES)/cifar10/test_batch.bin; } > $(BUILD)/fuzz/image-corpus/cifar.bin
	@$(BUILD)/fuzz/fuzz_image -max_total_time=$(FUZZ_SECONDS) -max_len=200000 -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/image- $(BUILD)/fuzz/image-corpus > $(BUILD)/fuzz/image.log 2>&1; rc=$$?; \
	  tail -12 $(BUILD)/fuzz/image.log; exit $$rc

# Image fixtures (tests/test_data.c), made by a rule below.
$(IMAGE_FIXTURES)/.done: tests/images/make_fixtures.py
	@rm -rf $(IMAGE_FIXTURES) && mkdir -p $(IMAGE_FIXTURES)
	/usr/bin/python3 tests/images/make_fixtures.py $(IMAGE_FIXTURES)
	@touch $@

# Tests run one after another; each prints its own cmocka summary.
check-tests: $(TESTS) $(BUILD)/pith $(IMAGE_FIXTURES)/.done
	@fail=0; for t in $(TESTS); do \
	  echo "== $$t"; PITH_BIN=$(BUILD)/pith PITH_IMAGES=$(IMAGE_FIXTURES) $$t || fail=1; done; \
	  if [ $$fail -ne 0 ]; then echo "SOME TESTS FAILED"; exit 1; fi; echo "ALL TESTS PASSED"

# ONNX's own backend node tests of every op the importer claims (Debian's
# libonnx-testdata), then torchvision models against ONNX Runtime, the same
# models pruned 30%, and PyTorch-quantized QDQ models through pith's int8
# runtime against ONNX Runtime (200 inputs here; the note's figures: 1,000).
ONNX_NODE_DATA ?= /usr/share/libonnx-testdata/data/node
test-onnx: $(BUILD)/tools/onnx_nodes $(BUILD)/tools/onnx_check $(BUILD)/tools/onnx_prune $(BUILD)/tools/onnx_qdq $(BUILD)/pith
	$(BUILD)/tools/onnx_nodes --skips tests/onnx/node_skips.txt $(ONNX_NODE_DATA)
	sh tests/onnx/compare_ort.sh $(BUILD)
	sh tests/onnx/prune_torchvision.sh $(BUILD)
	sh tests/onnx/qdq_ort.sh $(BUILD) 200
	sh tests/onnx/export_ort.sh $(BUILD)
	sh tests/onnx/photos_torch.sh $(BUILD)

test: deps
	@$(MAKE) --no-print-directory check-tests
	@$(MAKE) --no-print-directory test-onnx
	@$(MAKE) --no-print-directory test-runtime
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

asan: deps
	@LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  ASAN_OPTIONS=fast_unwind_on_malloc=0 \
	  $(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" check-tests
	@$(MAKE) --no-print-directory $(BUILD)/rt-models/.done $(BUILD)/rt-models/zoo/.done
	@$(MAKE) --no-print-directory -C runtime OUT=$(abspath build/asan)/runtime \
	  RT_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	build/asan/runtime/pithrt-test --cases 200 $(BUILD)/rt-models/*.pith $(BUILD)/rt-models/zoo/*.pith

# The runtime's tests under ThreadSanitizer: the pool's own test, then every
# kernel set on 1 and 3 threads (a reported race fails the run).
tsan: deps
	@$(MAKE) --no-print-directory $(BUILD)/rt-models/.done
	@$(MAKE) --no-print-directory -C runtime OUT=$(abspath build/tsan)/runtime RT_CFLAGS="-O1 -g -fsanitize=thread"
	TSAN_OPTIONS=halt_on_error=1 build/tsan/runtime/pithrt-test --cases 100 $(BUILD)/rt-models/*.pith

demo: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(BUILD)/pith

bench: $(BUILD)/bench/train_speed $(BUILD)/bench/qat_speed $(BUILD)/bench/image_loader

# Charts from the results table into results/plots/ (PNG and SVG).
plots: deps
	@sh plots/render.sh results/runs.tsv results/plots runs

golden:
	/usr/bin/python3 tests/golden/make_golden.py tests/golden/fmnist_cnn.h5

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/pith/ops
	install -m 755 $(BUILD)/pith $(DESTDIR)$(PREFIX)/bin/pith
	install -m 644 $(BUILD)/libpith.a $(DESTDIR)$(PREFIX)/lib/libpith.a
	install -m 644 core/*.h $(DESTDIR)$(PREFIX)/include/pith/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BLAS_LIB@|$(BLAS_LIB)|g' -e 's|@HDF5_LIBS@|$(HDF5_LIBS)|g' \
	  -e 's|@BLAS_INC@|$(BLAS_INC)|g' -e 's|@HDF5_CFLAGS@|$(HDF5_CFLAGS)|g' \
	  scripts/pith.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/pith.pc

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
