/* libFuzzer on the ONNX importer: any bytes are refused with a message or
 * imported into a graph that compiles and runs. `make fuzz` starts it from
 * the fixture models of tests/fixtures/onnx/. */
#include <stddef.h>
#include <stdint.h>

#include "../core/graph.h"
#include "../onnx/onnx_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pith_graph *g = NULL;
    pith_onnx_info info; /* with it, a QDQ model's quantizer state is kept (and freed) too */
    if (pith_onnx_import_buffer(data, size, "fuzz.onnx", NULL, &g, &info) == 0) {
        /* a mutated shape may ask for a huge graph: run only small ones */
        if (pith_graph_macs(g) < 20000000 && pith_graph_bytes(g) < (64 << 20) && pith_graph_compile(g, 1) == 0)
            pith_graph_forward(g, 1);
        pith_graph_free(g);
        pith_onnx_info_free(&info);
    }
    return 0;
}
