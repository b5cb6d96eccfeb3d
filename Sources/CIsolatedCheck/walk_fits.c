// The child's walk of a FITS file: every HDU's header cards and, for tables, the column
// definitions, as photoz's catalog reader moves through them. cfitsio parses a table's column
// keywords when it moves to the HDU (ffmrhd -> ffgtbp), where fuzzing found an abort.
#include "walk.h"

#include <fitsio.h>

int photoz_walk_fits(const char *path) {
    fitsfile *file = NULL;
    int status = 0;
    PHOTOZ_WALK_AT("opening the file");
    if (fits_open_diskfile(&file, path, READONLY, &status) != 0) return 0;  // the reader reports why
    for (int hdu = 1; status == 0; hdu++) {
        int type = 0;
        PHOTOZ_WALK_AT("moving to HDU %d (cfitsio parses its header and column definitions)", hdu - 1);
        if (fits_movabs_hdu(file, hdu, &type, &status) != 0) break;  // the end, or a header the reader rejects
        int cards = 0, more = 0;
        fits_get_hdrspace(file, &cards, &more, &status);
        for (int i = 1; i <= cards && status == 0; i++) {
            char card[FLEN_CARD];
            fits_read_record(file, i, card, &status);
        }
        if (status == 0 && (type == BINARY_TBL || type == ASCII_TBL)) {
            int columns = 0;
            LONGLONG rows = 0;
            fits_get_num_cols(file, &columns, &status);
            fits_get_num_rowsll(file, &rows, &status);
            PHOTOZ_WALK_AT("reading the column definitions of HDU %d", hdu - 1);
            for (int column = 1; column <= columns && status == 0; column++) {
                char name[FLEN_VALUE], keyword[FLEN_KEYWORD];
                int code = 0, exact = 0;
                long repeat = 0, width = 0;
                fits_make_keyn("TTYPE", column, keyword, &status);
                fits_read_key(file, TSTRING, keyword, name, NULL, &status);
                if (status == KEY_NO_EXIST) status = 0;
                fits_get_coltype(file, column, &code, &repeat, &width, &status);
                (void)exact;
            }
        }
        status = 0;  // a bad table is the reader's to report; keep moving through the HDUs
    }
    // No fits_close_file: the child leaves with _exit and must never write.
    return 0;
}
