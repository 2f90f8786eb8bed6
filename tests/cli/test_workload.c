/*
 * test_workload.c - the workload loader (tools/workload.c): the shipped COCO subset,
 * the keep-ratio resize checked by hand, crowd flags, batches, anchor sets, and the
 * one-line errors for malformed files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "workload.h"

#ifndef AA_TEST_DATA_CSV
#error "AA_TEST_DATA_CSV (the shipped data/coco2017_subset_boxes.csv) must be defined"
#endif
#ifndef AA_TEST_FIXTURES
#error "AA_TEST_FIXTURES (tests/cli) must be defined"
#endif

#define HEADER "split,image_id,width,height,annotation_id,x,y,w,h,category_id,iscrowd\n"

/* ---------------------------------------------------------------- helpers */

static void load_ok(const char *path, aa_wl_dataset *ds)
{
    aa_wl_error err = {""};
    aa_wl_status st = aa_wl_load(path, AA_WL_FORMAT_AUTO, ds, &err);
    if (st != AA_WL_OK)
        fail_msg("%s: %s", path, err.message);
}

static const aa_wl_image *find_image(const aa_wl_dataset *ds, int64_t id)
{
    for (int32_t i = 0; i < ds->num_images; ++i)
        if (ds->images[i].image_id == id)
            return &ds->images[i];
    return NULL;
}

/* Parses `text` and expects a format error whose message contains `want`. */
static void expect_error(aa_wl_format format, const char *text, const char *want)
{
    aa_wl_dataset ds;
    aa_wl_error err = {""};
    aa_wl_status st = format == AA_WL_FORMAT_COCO
                          ? aa_wl_parse_coco("t.json", text, strlen(text), &ds, &err)
                          : aa_wl_parse_csv("t.csv", text, strlen(text), &ds, &err);
    if (st != AA_WL_ERR_FORMAT || strstr(err.message, want) == NULL)
        fail_msg("input [%s]: status %d, message [%s], wanted [%s]", text, (int)st,
                 err.message, want);
    assert_null(strchr(err.message, '\n'));
    assert_int_equal(ds.num_images, 0);
    aa_wl_dataset_free(&ds);
}

/* ---------------------------------------------------------------- shipped data */

static void test_shipped_counts(void **state)
{
    (void)state;
    aa_wl_dataset ds;
    load_ok(AA_TEST_DATA_CSV, &ds);
    assert_int_equal(ds.num_images, 318); /* data/README.md */
    assert_int_equal(ds.num_boxes, 2868);
    int64_t next = 0, crowd = 0;
    for (int32_t i = 0; i < ds.num_images; ++i) { /* contiguous, in order */
        assert_int_equal(ds.images[i].first_box, next);
        next += ds.images[i].num_boxes;
    }
    assert_int_equal(next, 2868);
    for (int64_t k = 0; k < ds.num_boxes; ++k)
        crowd += ds.iscrowd[k];
    assert_int_equal(crowd, 30); /* awk -F, '$11==1' | wc -l */
    /* the first row of the file */
    assert_int_equal(ds.images[0].image_id, 790);
    assert_int_equal(ds.annotation_ids[0], 11434);
    assert_int_equal(ds.category_ids[0], 18);
    aa_wl_dataset_free(&ds);
}

/* Image 790, 640x422: scale = min(1333/640, 800/422) = 800/422 = 1.89573...,
 * new size (int)(640*1.89573+0.5) = 1213 x (int)(800+0.5) = 800.
 * Annotation 11434, COCO [509.63, 345.38, 102.1, 72.32]. */
static void test_resize_image_790(void **state)
{
    (void)state;
    aa_wl_dataset ds;
    load_ok(AA_TEST_DATA_CSV, &ds);
    const aa_wl_image *im = find_image(&ds, 790);
    assert_non_null(im);
    assert_int_equal(im->width, 640);
    assert_int_equal(im->height, 422);
    assert_int_equal(im->resized_w, 1213);
    assert_int_equal(im->resized_h, 800);
    assert_true(im->scale_x == (float)(1213.0 / 640.0));
    assert_true(im->scale_y == (float)(800.0 / 422.0));
    const float *b = &ds.boxes[4 * im->first_box];
    /* x * 1213/640 and y * 800/422 in exact arithmetic */
    assert_float_equal(b[0], 965.908109, 1e-3);
    assert_float_equal(b[1], 654.748815, 1e-3);
    assert_float_equal(b[2], 1159.419516, 1e-3);
    assert_float_equal(b[3], 791.848341, 1e-3);
    /* and bit-exact with mmdetection's float32 rescale_ */
    assert_true(b[2] == (float)(509.63 + 102.1) * (float)(1213.0 / 640.0));
    const float *o = &ds.orig_boxes[4 * im->first_box];
    assert_true(o[0] == 509.63f && o[3] == (float)(345.38 + 72.32));
    aa_wl_dataset_free(&ds);
}

static void test_resize_rules(void **state)
{
    (void)state;
    int32_t w, h;
    float sx, sy;
    aa_wl_resize(427, 640, &w, &h, &sx, &sy); /* portrait: height-bound, 1.25 */
    assert_int_equal(w, 534);                  /* 533.75 + 0.5 */
    assert_int_equal(h, 800);
    assert_true(sx == (float)(534.0 / 427.0) && sy == 1.25f);
    aa_wl_resize(1333, 800, &w, &h, &sx, &sy); /* exactly the target */
    assert_true(w == 1333 && h == 800 && sx == 1.0f && sy == 1.0f);
    aa_wl_resize(2000, 500, &w, &h, &sx, &sy); /* width-bound: 1333/2000 */
    assert_int_equal(w, 1333);
    assert_int_equal(h, 333); /* 333.25 + 0.5 */
    aa_wl_resize(1, 1000000, &w, &h, &sx, &sy); /* never a 0-pixel side */
    assert_int_equal(w, 1);
    assert_int_equal(h, 800);
}

static void test_crowd_flags(void **state)
{
    (void)state;
    aa_wl_dataset ds;
    load_ok(AA_TEST_DATA_CSV, &ds);
    const aa_wl_image *im = find_image(&ds, 129648);
    assert_non_null(im);
    int found = 0;
    for (int64_t k = im->first_box; k < im->first_box + im->num_boxes; ++k) {
        if (ds.annotation_ids[k] == 900100129648LL) { /* a COCO crowd region */
            assert_int_equal(ds.iscrowd[k], 1);
            found = 1;
        } else {
            assert_int_equal(ds.iscrowd[k], 0);
        }
    }
    assert_true(found);
    aa_wl_dataset_free(&ds);
}

static void test_batch(void **state)
{
    (void)state;
    aa_wl_dataset ds;
    aa_wl_batch batch;
    aa_wl_error err;
    load_ok(AA_TEST_DATA_CSV, &ds);
    assert_int_equal(aa_wl_batch_make(&ds, 0, AA_WL_DEFAULT_IMAGES, &batch, &err), AA_WL_OK);
    assert_int_equal(batch.gts.num_images, 16);
    assert_int_equal(batch.gts.offsets[0], 0);
    assert_int_equal(batch.gts.offsets[16], 120); /* boxes of the first 16 images (awk) */
    assert_ptr_equal(batch.gts.labels, ds.category_ids);
    assert_ptr_equal(batch.gts.ignore_flags, ds.iscrowd);
    aa_wl_batch_free(&batch);
    /* a later slice is rebased to its own first GT */
    assert_int_equal(aa_wl_batch_make(&ds, 316, 2, &batch, &err), AA_WL_OK);
    assert_int_equal(batch.gts.offsets[2], ds.images[316].num_boxes + ds.images[317].num_boxes);
    assert_ptr_equal(batch.gts.boxes, ds.boxes + 4 * ds.images[316].first_box);
    aa_wl_batch_free(&batch);
    assert_int_equal(aa_wl_batch_make(&ds, 300, 19, &batch, &err), AA_WL_ERR_ARGUMENT);
    assert_non_null(strstr(err.message, "the dataset has 318"));
    aa_wl_dataset_free(&ds);
}

/* ---------------------------------------------------------------- anchors */

static void test_anchor_sets(void **state)
{
    (void)state;
    static const int64_t one[5] = {16800, 4200, 1050, 273, 77}; /* ceil(800/s)*ceil(1344/s) */
    aa_wl_anchor_set set;
    aa_wl_error err = {""};
    assert_int_equal(aa_wl_anchor_set_make(AA_WL_ANCHORS_RETINA, 800, 1344, &set, &err),
                     AA_WL_OK);
    assert_int_equal(set.anchors.num_anchors, 201600);
    assert_int_equal(set.anchors.num_levels, 5);
    for (int l = 0; l < 5; ++l)
        assert_int_equal(set.level_counts[l], 9 * one[l]);
    /* first base anchor: ratio 0.5, scale 4: w = 32*sqrt(2), h = 32/sqrt(2), centre 0 */
    assert_float_equal(set.boxes[0], -22.627417, 1e-4);
    assert_float_equal(set.boxes[1], -11.313708, 1e-4);
    assert_int_equal(aa_wl_anchor_level(&set, 151199), 0);
    assert_int_equal(aa_wl_anchor_level(&set, 151200), 1);
    assert_int_equal(aa_wl_anchor_level(&set, 201599), 4);
    assert_int_equal(aa_wl_anchor_level(&set, 201600), -1);
    aa_wl_anchor_set_free(&set);

    assert_int_equal(aa_wl_anchor_set_make(AA_WL_ANCHORS_ATSS, 800, 1344, &set, &err), AA_WL_OK);
    assert_int_equal(set.anchors.num_anchors, 22400);
    for (int l = 0; l < 5; ++l)
        assert_int_equal(set.level_counts[l], one[l]);
    assert_float_equal(set.boxes[0], -32.0, 1e-6); /* 8*8 square at (0, 0) */
    assert_float_equal(set.boxes[3], 32.0, 1e-6);
    aa_wl_anchor_set_free(&set);

    assert_int_equal(aa_wl_anchor_set_make(AA_WL_POINTS_FCOS, 800, 1344, &set, &err), AA_WL_OK);
    assert_int_equal(set.anchors.num_anchors, 22400);
    assert_float_equal(set.level_strides[4], 128.0, 0);
    assert_float_equal(set.boxes[0], 4.0, 1e-6); /* (0 + 0.5) * 8 */
    assert_float_equal(set.boxes[4], 12.0, 1e-6);
    aa_wl_anchor_set_free(&set);
}

/* ---------------------------------------------------------------- CSV */

static void test_csv_grouping(void **state)
{
    (void)state;
    /* rows of image 5 are interleaved with image 3's; columns in another order */
    static const char text[] =
        "\xEF\xBB\xBFiscrowd,image_id,width,height,annotation_id,x,y,w,h,category_id,split\r\n"
        "0,5,640,480,1,0,0,10,10,7,val\r\n"
        "\r\n"
        "1,3,100,200,2,1,2,3,4,8,val\r\n"
        "0,5,640,480,3,5,5,1,1,9,val\r\n";
    aa_wl_dataset ds;
    aa_wl_error err = {""};
    assert_int_equal(aa_wl_parse_csv("g.csv", text, sizeof text - 1, &ds, &err), AA_WL_OK);
    assert_int_equal(ds.num_images, 2);
    assert_int_equal(ds.images[0].image_id, 5);
    assert_int_equal(ds.images[0].num_boxes, 2);
    assert_int_equal(ds.images[1].image_id, 3);
    assert_int_equal(ds.annotation_ids[0], 1);
    assert_int_equal(ds.annotation_ids[1], 3);
    assert_int_equal(ds.annotation_ids[2], 2);
    assert_int_equal(ds.iscrowd[2], 1);
    assert_int_equal(ds.category_ids[2], 8);
    /* xywh -> x1y1x2y2 */
    assert_true(ds.orig_boxes[8] == 1.0f && ds.orig_boxes[9] == 2.0f);
    assert_true(ds.orig_boxes[10] == 4.0f && ds.orig_boxes[11] == 6.0f);
    aa_wl_dataset_free(&ds);
    /* a header alone is an empty, valid dataset */
    assert_int_equal(aa_wl_parse_csv("h.csv", HEADER, strlen(HEADER), &ds, &err), AA_WL_OK);
    assert_int_equal(ds.num_images, 0);
    aa_wl_dataset_free(&ds);
}

static void test_csv_errors(void **state)
{
    (void)state;
    const aa_wl_format c = AA_WL_FORMAT_CSV;
    expect_error(c, "", "t.csv: empty file");
    expect_error(c, "\n  \n", "t.csv: empty file");
    expect_error(c, "split,image_id,width,height,annotation_id,x,y,w,h,category_id\n",
                 "t.csv:1: header: missing column 'iscrowd'");
    expect_error(c, HEADER "a,5,640,480,1,10,10,abc,20,1,0\n",
                 "t.csv:2: field 'w': not a number ('abc')");
    expect_error(c, HEADER "a,5,640,480,1,10,10,20,-5,1,0\n",
                 "t.csv:2: field 'h': negative size ('-5')");
    expect_error(c, HEADER "a,5,640,480,1,10,10,20\n",
                 "t.csv:2: expected 11 fields as the header, found 8");
    expect_error(c, HEADER "a,5,640,480,1,10,10,20,20,1,0\n\na,5,640,480,1,10,10,20,20,1,2\n",
                 "t.csv:4: field 'iscrowd': must be 0 or 1");
    expect_error(c, HEADER "a,5,640,480,1,1,1,2,2,1,0\na,5,641,480,2,1,1,2,2,1,0\n",
                 "t.csv:3: field 'width': image 5 is 640x480 on line 2 but 641x480 here");
    expect_error(c, HEADER "a,5,640,480,1,nan,10,20,20,1,0\n", "field 'x': not a number");
    expect_error(c, HEADER "a,5,640,480,1,1e300,10,20,20,1,0\n", "field 'x': not a finite");
    expect_error(c, HEADER "a,5,0,480,1,10,10,20,20,1,0\n", "t.csv:2: field 'width': must be");
    expect_error(c, HEADER "a,5,640.5,480,1,10,10,20,20,1,0\n", "field 'width': not an integer");
    expect_error(c, HEADER "a,5,640,480,1,10,10,20,20,,0\n", "field 'category_id': empty");
    expect_error(c, HEADER "a,5,640,480,1,10,10,20,20,1,0,extra\n", "found 12");
    static const char nul[] = HEADER "a,5\0,640";
    aa_wl_dataset ds;
    aa_wl_error err;
    assert_int_equal(aa_wl_parse_csv("n.csv", nul, sizeof nul - 1, &ds, &err),
                     AA_WL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "n.csv: not a text file"));
}

static void test_fixture_errors(void **state)
{
    (void)state;
    static const struct {
        const char *file, *want;
    } cases[] = {
        {"bad_field.csv", "bad_field.csv:3: field 'w': not a number ('abc')"},
        {"missing_column.csv", "missing_column.csv:1: header: missing column 'iscrowd'"},
        {"negative_size.csv", "negative_size.csv:2: field 'h': negative size"},
        {"empty.csv", "empty.csv: empty file"},
        {"bad_syntax.json", "bad_syntax.json:4:5: not valid JSON near '{\"id\": 2"},
        {"bad_image.json", "annotations[1] (id 12): field 'image_id': unknown image 99"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char path[1024];
        aa_wl_dataset ds;
        aa_wl_error err = {""};
        snprintf(path, sizeof path, "%s/%s", AA_TEST_FIXTURES, cases[i].file);
        assert_int_equal(aa_wl_load(path, AA_WL_FORMAT_AUTO, &ds, &err), AA_WL_ERR_FORMAT);
        if (strstr(err.message, cases[i].want) == NULL)
            fail_msg("%s: got [%s], wanted [%s]", cases[i].file, err.message, cases[i].want);
        assert_non_null(strstr(err.message, path)); /* names the file as given */
        aa_wl_dataset_free(&ds);
    }
    aa_wl_dataset ds;
    aa_wl_error err = {""};
    assert_int_equal(aa_wl_load(AA_TEST_FIXTURES "/no_such_file.csv", AA_WL_FORMAT_AUTO, &ds,
                                &err),
                     AA_WL_ERR_IO);
    assert_non_null(strstr(err.message, "no_such_file.csv: cannot open: "));
    /* a directory opens but cannot be read */
    assert_int_equal(aa_wl_load(AA_TEST_FIXTURES, AA_WL_FORMAT_CSV, &ds, &err), AA_WL_ERR_IO);
    /* the shipped CSV read as JSON */
    assert_int_equal(aa_wl_load(AA_TEST_DATA_CSV, AA_WL_FORMAT_COCO, &ds, &err),
                     AA_WL_ERR_FORMAT);
    assert_non_null(strstr(err.message, ":1:1: not valid JSON near 'split,image_id"));
}

/* ---------------------------------------------------------------- COCO JSON */

static void test_coco_fixture(void **state)
{
    (void)state;
    aa_wl_dataset ds;
    load_ok(AA_TEST_FIXTURES "/tiny.json", &ds);
    assert_int_equal(ds.num_images, 3); /* the `images` order, image 3 has no boxes */
    assert_int_equal(ds.images[0].image_id, 1);
    assert_int_equal(ds.images[1].image_id, 2);
    assert_int_equal(ds.images[2].image_id, 3);
    assert_int_equal(ds.images[0].num_boxes, 2);
    assert_int_equal(ds.images[1].num_boxes, 1);
    assert_int_equal(ds.images[2].num_boxes, 0);
    assert_int_equal(ds.num_boxes, 3);
    assert_int_equal(ds.annotation_ids[0], 101); /* grouped by image, file order */
    assert_int_equal(ds.annotation_ids[1], 102);
    assert_int_equal(ds.annotation_ids[2], 201);
    assert_int_equal(ds.iscrowd[1], 1);
    assert_int_equal(ds.category_ids[2], 3);
    /* image 2 (640x400) doubles: [0,0,32,32] -> [0,0,64,64] */
    assert_true(ds.images[1].scale_x == 2.0f && ds.images[1].scale_y == 2.0f);
    assert_true(ds.boxes[8] == 0.0f && ds.boxes[10] == 64.0f && ds.boxes[11] == 64.0f);
    assert_int_equal(ds.images[2].resized_w, 800); /* 500x500: 800/500 */
    aa_wl_dataset_free(&ds);
}

static void test_coco_errors(void **state)
{
    (void)state;
    const aa_wl_format j = AA_WL_FORMAT_COCO;
    const char *img = "\"images\": [{\"id\": 1, \"width\": 640, \"height\": 480}]";
    char text[512];
    expect_error(j, "", "t.json: empty file");
    expect_error(j, "split,image_id\n", "t.json:1:1: not valid JSON near 'split,image_id'");
    expect_error(j, "[1, 2]", "t.json: not a COCO annotation file");
    expect_error(j, "{\"annotations\": []}", "t.json: field 'images': missing");
    expect_error(j, "{\"images\": {}}", "t.json: field 'images': not an array");
    expect_error(j, "{} x", "t.json:1:4: unexpected text after the JSON value");
    expect_error(j, "{\"images\": [{\"id\": 1, \"width\": \"640\", \"height\": 480}]}",
                 "t.json: images[0] (id 1): field 'width': not a number");
    expect_error(j, "{\"images\": [{\"width\": 640, \"height\": 480}]}",
                 "t.json: images[0]: field 'id': missing");
    expect_error(j, "{\"images\": [{\"id\": 1, \"width\": 6, \"height\": 4}, "
                    "{\"id\": 1, \"width\": 6, \"height\": 4}]}",
                 "images[1] (id 1): field 'id': duplicate image id (also images[0])");
    snprintf(text, sizeof text, "{%s, \"annotations\": [{\"id\": 7, \"image_id\": 1, "
                                "\"bbox\": [1, 2, 3], \"category_id\": 1}]}", img);
    expect_error(j, text, "annotations[0] (id 7): field 'bbox': expected an array of 4");
    snprintf(text, sizeof text, "{%s, \"annotations\": [{\"id\": 7, \"image_id\": 1, "
                                "\"bbox\": [1, 2, -3, 4], \"category_id\": 1}]}", img);
    expect_error(j, text, "annotations[0] (id 7): field 'bbox': w: negative size");
    snprintf(text, sizeof text, "{%s, \"annotations\": [{\"id\": 7, \"image_id\": 1, "
                                "\"bbox\": [1, 2, 3, 4]}]}", img);
    expect_error(j, text, "annotations[0] (id 7): field 'category_id': missing");
    snprintf(text, sizeof text, "{%s, \"annotations\": [{\"id\": 7, \"image_id\": 1, "
                                "\"bbox\": [1, 2, 3, 4], \"category_id\": 1, \"iscrowd\": 3}]}",
             img);
    expect_error(j, text, "field 'iscrowd': must be 0 or 1");
    snprintf(text, sizeof text, "{%s, \"annotations\": [7]}", img);
    expect_error(j, text, "annotations[0]: field 'id': the element is not an object");
}

static void test_coco_optional_fields(void **state)
{
    (void)state;
    /* no `annotations` at all (COCO test-set files), iscrowd absent or boolean */
    static const char none[] = "{\"images\": [{\"id\": 4, \"width\": 10, \"height\": 10}]}";
    static const char opt[] =
        "{\"images\": [{\"id\": 4, \"width\": 10, \"height\": 10}], \"annotations\": ["
        "{\"id\": 1, \"image_id\": 4, \"bbox\": [0, 0, 1, 1], \"category_id\": 2},"
        "{\"id\": 2, \"image_id\": 4, \"bbox\": [0, 0, 1, 1], \"category_id\": 2, "
        "\"iscrowd\": true}]}";
    aa_wl_dataset ds;
    aa_wl_error err = {""};
    assert_int_equal(aa_wl_parse_coco("n.json", none, sizeof none - 1, &ds, &err), AA_WL_OK);
    assert_int_equal(ds.num_images, 1);
    assert_int_equal(ds.num_boxes, 0);
    aa_wl_dataset_free(&ds);
    assert_int_equal(aa_wl_parse_coco("o.json", opt, sizeof opt - 1, &ds, &err), AA_WL_OK);
    assert_int_equal(ds.iscrowd[0], 0);
    assert_int_equal(ds.iscrowd[1], 1);
    aa_wl_dataset_free(&ds);
}

static void test_guess_format(void **state)
{
    (void)state;
    assert_int_equal(aa_wl_guess_format("a/instances_val2017.json"), AA_WL_FORMAT_COCO);
    assert_int_equal(aa_wl_guess_format("B.JSON"), AA_WL_FORMAT_COCO);
    assert_int_equal(aa_wl_guess_format("boxes.csv"), AA_WL_FORMAT_CSV);
    assert_int_equal(aa_wl_guess_format("json"), AA_WL_FORMAT_CSV);
    assert_string_equal(aa_wl_format_name(AA_WL_FORMAT_COCO), "coco");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_counts),
        cmocka_unit_test(test_resize_image_790),
        cmocka_unit_test(test_resize_rules),
        cmocka_unit_test(test_crowd_flags),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_anchor_sets),
        cmocka_unit_test(test_csv_grouping),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_fixture_errors),
        cmocka_unit_test(test_coco_fixture),
        cmocka_unit_test(test_coco_errors),
        cmocka_unit_test(test_coco_optional_fields),
        cmocka_unit_test(test_guess_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
