/* Provenance: what a run's results depend on besides its config — the code
 * (git commit, dirty tree), the host, the libraries, the dataset's files —
 * written as runs/<experiment>/<run-id>/provenance.json. */
#ifndef PITH_EXPERIMENTS_PROVENANCE_H
#define PITH_EXPERIMENTS_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "results.h"

/* Provenance of this process: git commit and dirty flag of the working tree,
 * host CPU, library versions. */
void prov_git(char *commit, size_t len, int *dirty);
void prov_host(char *host, size_t len);
void prov_libraries(char *buf, size_t len);
/* CRC-32 and size of a file (0 on success). */
int prov_file_crc(const char *path, uint32_t *crc, uint64_t *size);

/* dir/provenance.json for the run of cfg whose row has been started. */
void exp_write_provenance(const char *dir, const exp_config *cfg, const exp_row *row);

#endif
