// The child's walk of an HDF5 file: every call photoz's HDF5 wrapper makes on metadata, on every
// object and attribute. Errors are ignored (the reader reports them in-process); what matters is
// getting through without a crash or a hang.
#include "walk.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    int external;
} walk_state;

/// The object being walked ("/" or "/group/dataset"), for the step shown when the child dies.
static char object_path[1024] = "/";

/// Reads `count` values of file type `type` from an attribute (`attribute` >= 0) or a dataset,
/// as photoz reads them: strings (variable-length ones reclaimed), integers and floats
/// converted to native types. Other classes are refused by photoz unread, so are skipped here.
static void read_values(hid_t attribute, hid_t dataset, hid_t type, hssize_t count) {
    if (count <= 0) return;
    H5T_class_t type_class = H5Tget_class(type);
    hid_t memory = -1;
    size_t element = 0;
    int variable = 0;
    if (type_class == H5T_STRING) {
        if (count > photoz_walk_max_strings) count = photoz_walk_max_strings;
        variable = H5Tis_variable_str(type) > 0;
        if (variable) {
            memory = H5Tcopy(H5T_C_S1);
            if (memory < 0) return;
            H5Tset_size(memory, H5T_VARIABLE);
            H5T_cset_t cset = H5Tget_cset(type);
            if (cset != H5T_CSET_ERROR) H5Tset_cset(memory, cset);
            element = sizeof(char *);
        } else {
            memory = H5Tcopy(type);
            element = H5Tget_size(type);
        }
    } else if (type_class == H5T_INTEGER || type_class == H5T_FLOAT) {
        memory = H5Tget_native_type(type, H5T_DIR_DEFAULT);
        element = memory >= 0 ? H5Tget_size(memory) : 0;
    } else {
        return;
    }
    if (memory < 0) return;
    if (element == 0 || (size_t)count > photoz_walk_max_bytes / element) { H5Tclose(memory); return; }
    void *buffer = calloc((size_t)count, element);
    if (!buffer) { H5Tclose(memory); return; }
    hid_t memory_space = -1, file_space = H5S_ALL;
    if (dataset >= 0) {
        // A dataset is read from its start, `count` elements (its first dimension's rows).
        hsize_t n = (hsize_t)count;
        memory_space = H5Screate_simple(1, &n, NULL);
        hid_t space = H5Dget_space(dataset);
        int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
        if (rank == 1) {
            hsize_t start = 0;
            H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &n, NULL);
            file_space = space;
        } else {
            if (space >= 0) H5Sclose(space);
            file_space = H5S_ALL;
            H5Sclose(memory_space);
            memory_space = H5S_ALL;
        }
    }
    herr_t status = attribute >= 0 ? H5Aread(attribute, memory, buffer)
                                    : H5Dread(dataset, memory, memory_space, file_space, H5P_DEFAULT, buffer);
    if (status >= 0 && variable) {
        char **strings = buffer;
        volatile size_t total = 0;
        for (hssize_t i = 0; i < count; i++) if (strings[i]) total += strlen(strings[i]);
        hsize_t n = (hsize_t)count;
        hid_t space = H5Screate_simple(1, &n, NULL);
        if (space >= 0) { H5Dvlen_reclaim(memory, space, H5P_DEFAULT, buffer); H5Sclose(space); }
    }
    if (memory_space >= 0 && memory_space != H5S_ALL) H5Sclose(memory_space);
    if (file_space >= 0 && file_space != H5S_ALL) H5Sclose(file_space);
    free(buffer);
    H5Tclose(memory);
}

static herr_t visit_attribute(hid_t location, const char *name, const H5A_info_t *info, void *data) {
    (void)info; (void)data;
    PHOTOZ_WALK_AT("reading attribute '%.200s' of %s", name, object_path);
    H5Aexists(location, name);
    hid_t attribute = H5Aopen(location, name, H5P_DEFAULT);
    if (attribute < 0) return 0;
    hid_t type = H5Aget_type(attribute), space = H5Aget_space(attribute);
    if (type >= 0 && space >= 0) {
        H5S_class_t space_class = H5Sget_simple_extent_type(space);
        hssize_t count = space_class == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space);
        H5Tget_class(type);
        H5Tget_size(type);
        H5Tget_sign(type);
        H5Tis_variable_str(type);
        H5Tget_cset(type);
        H5Tget_strpad(type);
        read_values(attribute, -1, type, count);
    }
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    H5Aclose(attribute);
    return 0;
}

static void walk_attributes(hid_t object) {
    PHOTOZ_WALK_AT("listing the attributes of %s", object_path);
    hsize_t index = 0;
    if (H5Aiterate2(object, H5_INDEX_NAME, H5_ITER_INC, &index, visit_attribute, NULL) < 0) {
        // libhdf5 decodes every attribute message to list them; one it cannot decode hides the
        // others from the walk, while opening one by name (as readers do) still reaches those
        // stored before it: found by fuzzing, a hidden string attribute looped in H5HG_read.
        _exit(PHOTOZ_WALK_UNLISTABLE);  // the step names what could not be listed
    }
    // photoz asks for attributes by name, many of them absent: a miss searches them all.
    H5Aexists(object, "photoz-absent-attribute");
}

static void walk_dataset(hid_t dataset) {
    PHOTOZ_WALK_AT("reading the shape, type and layout of dataset %s", object_path);
    hid_t space = H5Dget_space(dataset);
    hssize_t count = 0;
    if (space >= 0) {
        int rank = H5Sget_simple_extent_ndims(space);
        if (rank >= 0 && rank <= H5S_MAX_RANK) {
            hsize_t dims[H5S_MAX_RANK], max[H5S_MAX_RANK];
            H5Sget_simple_extent_dims(space, dims, max);
        }
        count = H5Sget_simple_extent_npoints(space);
        H5Sclose(space);
    }
    hid_t type = H5Dget_type(dataset);
    if (type >= 0) {
        H5Tget_class(type);
        H5Tget_size(type);
        H5Tget_sign(type);
        hid_t native = H5Tget_native_type(type, H5T_DIR_DEFAULT);
        if (native >= 0) { H5Tequal(type, native); H5Tclose(native); }
    }
    hid_t dcpl = H5Dget_create_plist(dataset);
    if (dcpl >= 0) {
        H5D_layout_t layout = H5Pget_layout(dcpl);
        if (layout == H5D_CHUNKED) {
            hsize_t chunk[32];
            H5Pget_chunk(dcpl, 32, chunk);
            int filters = H5Pget_nfilters(dcpl);
            for (int i = 0; i < filters && i < 32; i++) {
                unsigned flags = 0, config = 0, values[16];
                size_t value_count = 16;
                char name[256];
                H5Pget_filter2(dcpl, (unsigned)i, &flags, &value_count, values, sizeof name, name, &config);
            }
            // The whole chunk index (every B-tree node), and the first chunk as photoz looks it up.
            PHOTOZ_WALK_AT("reading the chunk index of dataset %s", object_path);
            hsize_t chunks = 0;
            H5Dget_num_chunks(dataset, H5S_ALL, &chunks);
            hsize_t origin[H5S_MAX_RANK] = {0}, size = 0;
            haddr_t address = 0;
            unsigned mask = 0;
            H5Dget_chunk_info_by_coord(dataset, origin, &mask, &address, &size);
            H5Dget_chunk_storage_size(dataset, origin, &size);
        }
        H5D_fill_value_t fill = H5D_FILL_VALUE_ERROR;
        if (H5Pfill_value_defined(dcpl, &fill) >= 0 && fill == H5D_FILL_VALUE_USER_DEFINED && type >= 0) {
            hid_t native = H5Tget_native_type(type, H5T_DIR_DEFAULT);
            if (native >= 0 && H5Tget_size(native) <= 64 && H5Tget_class(native) != H5T_STRING) {
                unsigned char value[64];
                H5Pget_fill_value(dcpl, native, value);
            }
            if (native >= 0) H5Tclose(native);
        }
        H5Pclose(dcpl);
    }
    H5Dget_storage_size(dataset);
    H5Dget_offset(dataset);
    if (type >= 0) {
        // Strings are metadata too (variable-length ones live in the global heap, where fuzzing
        // found most crashes); numbers are data, read in bounded blocks and checked by photoz.
        if (H5Tget_class(type) == H5T_STRING) {
            PHOTOZ_WALK_AT("reading the strings of dataset %s", object_path);
            read_values(-1, dataset, type, count);
        }
        H5Tclose(type);
    }
}

static void walk_object(hid_t object, walk_state *state) {
    PHOTOZ_WALK_AT("reading the header of %s", object_path);
    H5O_info_t info;
    H5Oget_info2(object, &info, H5O_INFO_ALL);
    switch (H5Iget_type(object)) {
    case H5I_DATASET:
        walk_dataset(object);
        break;
    case H5I_GROUP: {
        // photoz lists a group's members by name index, one name at a time.
        PHOTOZ_WALK_AT("listing the members of group %s", object_path);
        H5G_info_t group;
        if (H5Gget_info(object, &group) >= 0) {
            for (hsize_t i = 0; i < group.nlinks && i < photoz_walk_max_strings; i++) {
                char name[1024];
                if (H5Lget_name_by_idx(object, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0) {
                    _exit(PHOTOZ_WALK_UNLISTABLE);
                }
            }
        }
        break;
    }
    default:
        break;
    }
    (void)state;
    walk_attributes(object);
}

static herr_t visit_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    walk_state *state = data;
    if (info->type == H5L_TYPE_EXTERNAL || info->type >= H5L_TYPE_UD_MIN) {
        state->external = 1;
        return 0;
    }
    snprintf(object_path, sizeof object_path, "/%s", name);  // H5Lvisit names are relative to the root
    PHOTOZ_WALK_AT("opening %s", object_path);
    H5Lexists(group, name, H5P_DEFAULT);
    if (info->type != H5L_TYPE_HARD) return 0;  // a soft link names an object reached by a hard one
    hid_t object = H5Oopen(group, name, H5P_DEFAULT);
    if (object < 0) return 0;
    walk_object(object, state);
    H5Oclose(object);
    return 0;
}

static herr_t visit_error(unsigned depth, const H5E_error2_t *error, void *data) {
    (void)depth; (void)data;
    if (error->maj_num == H5E_RESOURCE || error->min_num == H5E_NOSPACE || error->min_num == H5E_CANTALLOC) {
        _exit(PHOTOZ_WALK_OUT_OF_MEMORY);  // the step names where
    }
    return 0;
}

/// Called by libhdf5 each time a call of the walk fails: a failed allocation means the file
/// declares metadata larger than the child may allocate; in photoz's process the same
/// allocation would take that memory (libhdf5 then fills it), so it is reported, not ignored.
static herr_t on_error(hid_t stack, void *data) {
    (void)data;
    H5Ewalk2(stack, H5E_WALK_DOWNWARD, visit_error, NULL);
    return 0;
}

int photoz_walk_hdf5(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, on_error, NULL);
    PHOTOZ_WALK_AT("opening the file");
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    if (access >= 0) H5Pset_fclose_degree(access, H5F_CLOSE_STRONG);
    // Another open of the file may hold HDF5's file lock for an instant (see HDF5File.open):
    // try for about half a second, as the reader does. A file that cannot be opened is left to
    // the reader's own open, which reports why.
    hid_t file = -1;
    for (useconds_t pause = 1000; file < 0 && pause <= 256000; pause *= 2) {
        file = H5Fopen(path, H5F_ACC_RDONLY, access >= 0 ? access : H5P_DEFAULT);
        if (file < 0) usleep(pause);
    }
    if (file < 0) return 0;
    walk_state state = {0};
    hid_t root = H5Oopen(file, "/", H5P_DEFAULT);
    if (root >= 0) walk_object(root, &state);
    PHOTOZ_WALK_AT("listing the groups and datasets of the file");
    if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_link, &state) < 0) {
        PHOTOZ_WALK_AT("listing the groups and datasets of the file (the last object reached: %s)", object_path);
        return PHOTOZ_WALK_UNLISTABLE;
    }
    // No H5Fclose: the child leaves with _exit and must never write to the file.
    return state.external ? PHOTOZ_WALK_EXTERNAL_LINK : 0;
}
