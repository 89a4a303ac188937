/* cmd_train.c - `clnet-bench train`: trains a zoo model or a cfg file's net
 * on a dataset, one line per epoch (or a JSON report with the learning
 * curve), with checkpoints that a later run resumes exactly. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clnet/es.h"
#include "device_list.h"
#include "finetune.h"
#include "models.h"
#include "progress.h"
#include "train_dist.h"
#include "provenance.h"
#include "training.h"

#define CMD "train"
#define MAX_EPOCHS 100000

static void print_help(void)
{
    printf(
        "usage: clnet-bench train (--model NAME | --cfg FILE) --data SET [--epochs N]\n"
        "                         [--batch B] [--lr X] [--resume CKPT] [--val N]\n"
        "                         [--save-every K] [--save-best] [--aux]\n"
        "                         [--finetune CKPT [--freeze UPTO] [--head N]] [--resize HxW]\n"
        "                         [--pad P]\n"
        "                         [--device D | --devices LIST] [--seed S]\n"
        "                         [--optimizer sgd|adam|es] [--momentum M]\n"
        "                         [--es-population P] [--es-sigma S] [--es-update sgd|adam]\n"
        "                         [--weight-decay W] [--schedule constant|step|cosine]\n"
        "                         [--step-epochs K] [--gamma G] [--warmup E] [--augment LIST]\n"
        "                         [--label-smoothing S] [--loss xent|mmi] [--mmi-j J]\n"
        "                         [--limit N] [--test-limit N]\n"
        "                         [--data-dir DIR] [--save FILE] [--threads T] [--json]\n"
        "       clnet-bench train --recipe NAME|list [...]  (a named recipe; see\n"
        "                         'clnet-bench train --recipe list --help')\n\n"
        "Trains zoo model NAME, or the net of a cfg file (its input shape and class\n"
        "count follow the dataset), and after every epoch evaluates it on the test\n"
        "split. Inputs are normalised per channel with the mean and standard deviation\n"
        "of the whole training split, which the net keeps (and its checkpoints), unless\n"
        "the cfg sets its own [net] mean and std.\n"
        "One line per epoch: learning rate (mid-epoch), training loss and top-1\n"
        "accuracy, test loss and top-1 (and top-5 with more than 10 classes), training\n"
        "images/s, training and test seconds, and the seconds the device waited for\n"
        "the host input pipeline. A progress bar is drawn on stderr when it is a\n"
        "terminal. Values not given come from the model's cfg [net] section.\n\n"
        "  --model NAME          a model of the zoo (listed below)\n"
        "  --cfg FILE            or the net of this cfg file (docs/cfg-format.md)\n"
        "  --aux                 build the auxiliary classifiers (GoogLeNet, Inception-v3)\n"
        "                        and train with them: the loss adds each one's, times its\n"
        "                        cfg loss_weight (the printed losses and accuracies are\n"
        "                        the main classifier's); evaluation runs the main\n"
        "                        classifier only (eval --aux loads such a checkpoint)\n"
        "  --data SET            %s\n"
        "  --epochs N            epochs to train, in all (a resumed run counts the epochs\n"
        "                        its checkpoint holds)\n"
        "  --resume CKPT         continue the run that saved CKPT (any --save checkpoint):\n"
        "                        weights, optimizer state, epoch and random streams, so\n"
        "                        it ends as the uninterrupted run would have\n"
        "  --val N               hold out the last N training images as a validation set,\n"
        "                        evaluated after every epoch\n"
        "  --save-every K        also write the --save checkpoint after every K epochs\n"
        "  --save-best           write FILE.best (FILE from --save) whenever the\n"
        "                        validation accuracy improves (needs --val)\n"
        "  --finetune CKPT       transfer learning: every layer before the classifier head\n"
        "                        (the last linear, conv or rbf layer) and the input\n"
        "                        normalisation come from CKPT, a checkpoint of the same\n"
        "                        model with a head of any width; the head is new (weights\n"
        "                        from --seed), the run starts at epoch 1\n"
        "  --freeze UPTO         with --finetune: freeze layers 1 to UPTO (a layer name or\n"
        "                        index, before the head): their weights stay as loaded\n"
        "  --head N              with --finetune: the head's outputs (default: the\n"
        "                        dataset's classes; at least that many)\n"
        "  --resize HxW          resize every image (bilinear, after augmentation) to HxW\n"
        "                        on the host, the net's input size: ImageNet-shaped models\n"
        "                        (e.g. alexnet at 227x227) on the 28x28 or 32x32 datasets\n"
        "  --pad P               frame every image with P pixels of 0 on each side (the\n"
        "                        default: the border that makes the images the model's\n"
        "                        [net] input, up to 4, e.g. 2 for lenet5_1998's 32x32\n"
        "                        field on MNIST's 28x28 digits, as LeCun et al. padded)\n"
        "  --batch B             mini-batch size\n"
        "  --lr X                base learning rate\n"
        "  --device D            device index, name substring or \"ref\" (default:\n"
        "                        CLNET_DEVICE, else the first OpenCL device)\n"
        "  --devices LIST        train data-parallel on several devices: comma-separated\n"
        "                        selectors as --device takes them, each optionally with\n"
        "                        :WEIGHT, its share of the batch (default equal), e.g.\n"
        "                        0,1 or 0:3,1:1. --batch is the global batch; batch norm\n"
        "                        uses each device's slice's statistics (see --sync-bn).\n"
        "                        The first device also evaluates and saves.\n"
        "  --sync-bn             with --devices or under mpirun: batch norm normalises\n"
        "                        with the statistics of the global batch (PyTorch's\n"
        "                        SyncBatchNorm), so the devices or ranks train as one\n"
        "                        device would on the whole batch\n"
        "  --seed S              weights, shuffling and augmentation (default 1)\n"
        "  --optimizer O         sgd, adam, or es: gradient-free, each step's gradient\n"
        "                        estimated by OpenAI-ES (Salimans et al. 2017) from P\n"
        "                        antithetic perturbations of every weight and applied by\n"
        "                        --es-update's step (P + 1 forward passes, no backward)\n"
        "  --es-population P     es: evaluations per step, even (default %d)\n"
        "  --es-sigma S          es: the perturbations' standard deviation (default %g)\n"
        "  --es-update U         es: the step that applies the estimate, sgd or adam\n"
        "                        (default adam, as Salimans et al.)\n"
        "  --momentum M          SGD momentum\n"
        "  --weight-decay W      L2 weight decay\n"
        "  --schedule S          constant (default), step (lr * gamma every K epochs) or\n"
        "                        cosine (to 0 at the last epoch)\n"
        "  --step-epochs K       step schedule period (default: a third of the epochs)\n"
        "  --gamma G             step schedule factor (default 0.1)\n"
        "  --warmup E            linear warm-up from 0 over E epochs (may be fractional)\n"
        "  --augment LIST        comma-separated: crop=PAD, hflip, vflip, translate=PX,\n"
        "                        rotate=DEG, shear=S, elastic=ALPHA[:SIGMA] (sigma 4),\n"
        "                        brightness=F, contrast=F, saturation=F, jitter=F (all three),\n"
        "                        pca=S (Krizhevsky's PCA colour shift, alpha ~ N(0, S))\n"
        "  --label-smoothing S   softmax cross-entropy label smoothing (default 0)\n"
        "  --loss L              xent (softmax cross-entropy) or mmi (LeCun et al. 1998's\n"
        "                        eq. 9 on penalties: the outputs of [rbf] units); default\n"
        "                        mmi for a net that ends in [rbf], else xent\n"
        "  --mmi-j J             the mmi loss's rubbish-class penalty j (default %g)\n"
        "  --limit N             train on the first N training examples only\n"
        "  --test-limit N        evaluate on the first N test examples only\n"
        "  --data-dir DIR        look for the dataset here first (see README.md)\n"
        "  --save FILE           write a checkpoint after the last epoch\n"
        "  --threads T           host threads preparing batches (default 1)\n"
        "  --json                print one JSON object on stdout (the results schema's\n"
        "                        top-level keys - test_accuracy, test_loss, command,\n"
        "                        clnet_version, device, wall_seconds - and \"epochs\", the\n"
        "                        per-epoch list); the epoch lines then go to stderr\n"
        "  --help                this text\n\nmodels:",
        TRAINING_DATA_NAMES, CLNET_ES_POPULATION_DEFAULT, (double)CLNET_ES_SIGMA_DEFAULT,
        (double)CLNET_MMI_J_DEFAULT);
    int col = 7;
    for (const char *const *name = clnet_zoo_names(); *name; name++) {
        int len = (int)strlen(*name) + 1;
        if (col + len > 78) {
            printf("\n       ");
            col = 7;
        }
        printf(" %s", *name);
        col += len;
    }
    printf("\n");
}

/* Command-line values; numeric ones are negative (NaN for floats) when not
 * given, so the cfg's [net] defaults can fill them in. */
typedef struct train_options {
    const char *model, *cfg, *data, *selector, *devices, *data_dir, *save, *resume;
    const char *finetune, *freeze;
    int resize[2];               /* --resize: height, width; 0 = none */
    long epochs, batch, limit, test_limit, threads, step_epochs, seed, val, save_every, head;
    long pad;                    /* --pad, or -1: by the model's input */
    bool save_best;
    bool sync_bn;                /* --sync-bn */
    bool aux;                    /* --aux: build and train the auxiliary classifiers */
    float lr, momentum, weight_decay, warmup, gamma, label_smoothing, mmi_j;
    int optim;                   /* clnet_optim_kind, OPTIM_ES, or -1 */
    int es_update;               /* --es-update: clnet_optim_kind, or -1 */
    long es_population;          /* -1: CLNET_ES_POPULATION_DEFAULT */
    float es_sigma;              /* NaN: CLNET_ES_SIGMA_DEFAULT */
    int loss;                    /* clnet_loss, or -1: by the net's last layer */
    clnet_schedule schedule;
    clnet_augment augment;
    bool json;
} train_options;

static bool parse_float(const char *opt, const char *text, float lo, float hi, float *out)
{
    char *end;
    float v = strtof(text, &end);
    if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
        bench_usage_error(CMD, "bad value '%s' for %s: expected a number from %g to %g", text,
                          opt, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

static const char *const optim_names[] = {"sgd", "adam", "es"};
/* --optimizer es: the index after clnet_optim_kind's values */
#define OPTIM_ES 2
/* --loss, indexed by clnet_loss (mse is not a classification loss) */
static const char *const loss_names[] = {"xent", "", "mmi"};
static const char *const schedule_names[] = {"constant", "step", "cosine"};

/* --augment items: a flag, an integer or a float field of clnet_augment. */
typedef enum aug_type { AUG_FLAG, AUG_INT, AUG_FLOAT } aug_type;

typedef struct aug_item {
    const char *name;
    aug_type type;
    size_t offset;
    float hi;                    /* largest value accepted */
} aug_item;

static const aug_item aug_items[] = {
    {"crop", AUG_INT, offsetof(clnet_augment, crop_pad), 64},
    {"hflip", AUG_FLAG, offsetof(clnet_augment, hflip), 0},
    {"vflip", AUG_FLAG, offsetof(clnet_augment, vflip), 0},
    {"translate", AUG_INT, offsetof(clnet_augment, translate), 64},
    {"rotate", AUG_FLOAT, offsetof(clnet_augment, rotate_deg), 180},
    {"shear", AUG_FLOAT, offsetof(clnet_augment, shear), 1},
    {"brightness", AUG_FLOAT, offsetof(clnet_augment, brightness), 1},
    {"contrast", AUG_FLOAT, offsetof(clnet_augment, contrast), 1},
    {"saturation", AUG_FLOAT, offsetof(clnet_augment, saturation), 1},
    {"pca", AUG_FLOAT, offsetof(clnet_augment, pca_std), 1},
};
#define NAUG (sizeof aug_items / sizeof aug_items[0])

/* Reports a usage error; false, for the parsers' boolean results. */
#define USAGE_FALSE(...) (bench_usage_error(CMD, __VA_ARGS__), false)

/* elastic=ALPHA[:SIGMA] sets two fields. */
static bool parse_elastic(const char *value, clnet_augment *aug)
{
    char alpha[64];
    const char *colon = strchr(value, ':');
    size_t len = colon ? (size_t)(colon - value) : strlen(value);
    if (len >= sizeof alpha)
        return USAGE_FALSE("bad --augment elastic value '%s'", value);
    memcpy(alpha, value, len);
    alpha[len] = '\0';
    aug->elastic_sigma = 4.0f;   /* Simard et al. 2003 */
    return parse_float("--augment elastic", alpha, 0, 1000, &aug->elastic_alpha) &&
           (!colon || parse_float("--augment elastic sigma", colon + 1, 0.1f, 100,
                                  &aug->elastic_sigma));
}

/* jitter=F sets brightness, contrast and saturation alike. */
static bool parse_jitter(const char *value, clnet_augment *aug)
{
    float f;
    if (!parse_float("--augment jitter", value, 0, 1, &f))
        return false;
    aug->brightness = aug->contrast = aug->saturation = f;
    return true;
}

static bool parse_aug_field(const aug_item *a, const char *value, clnet_augment *aug)
{
    char *field = (char *)aug + a->offset;
    if ((a->type == AUG_FLAG) != !value)
        return USAGE_FALSE("--augment %s %s", a->name, value ? "takes no value" : "needs a value");
    if (a->type == AUG_FLAG) {
        *(bool *)field = true;
        return true;
    }
    if (a->type == AUG_FLOAT)
        return parse_float("--augment", value, 0, a->hi, (float *)field);
    long n;
    if (!bench_parse_int(CMD, "--augment", value, 0, (long)a->hi, &n))
        return false;
    *(int *)field = (int)n;
    return true;
}

static bool parse_aug_item(char *item, clnet_augment *aug)
{
    char *value = strchr(item, '=');
    if (value)
        *value++ = '\0';
    bool special = strcmp(item, "elastic") == 0 || strcmp(item, "jitter") == 0;
    if (special && !value)
        return USAGE_FALSE("--augment %s needs a value", item);
    if (strcmp(item, "elastic") == 0)
        return parse_elastic(value, aug);
    if (strcmp(item, "jitter") == 0)
        return parse_jitter(value, aug);
    for (size_t i = 0; i < NAUG; i++)
        if (strcmp(item, aug_items[i].name) == 0)
            return parse_aug_field(&aug_items[i], value, aug);
    return USAGE_FALSE("unknown --augment item '%s'", item);
}

static bool parse_augment(const char *list, clnet_augment *aug)
{
    char buf[512];
    if (strlen(list) >= sizeof buf)
        return USAGE_FALSE("--augment list too long");
    strcpy(buf, list);
    memset(aug, 0, sizeof *aug);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save))
        if (strcmp(item, "none") != 0 && !parse_aug_item(item, aug))
            return false;
    return true;
}

static bool parse_enum(const char *opt, const char *text, const char *const *names, int n,
                       int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return true;
        }
    return USAGE_FALSE("bad value '%s' for %s", text, opt);
}

/* Integer options: name, field, range. */
typedef struct int_option {
    const char *name;
    size_t offset;
    long lo, hi;
} int_option;

static const int_option int_options[] = {
    {"--epochs", offsetof(train_options, epochs), 1, MAX_EPOCHS},
    {"--batch", offsetof(train_options, batch), 1, 65536},
    {"--limit", offsetof(train_options, limit), 1, INT_MAX},
    {"--test-limit", offsetof(train_options, test_limit), 1, INT_MAX},
    {"--threads", offsetof(train_options, threads), 1, 256},
    {"--step-epochs", offsetof(train_options, step_epochs), 1, MAX_EPOCHS},
    {"--seed", offsetof(train_options, seed), 0, 0x7fffffffffffffffL},
    {"--val", offsetof(train_options, val), 1, INT_MAX},
    {"--save-every", offsetof(train_options, save_every), 1, MAX_EPOCHS},
    {"--head", offsetof(train_options, head), 1, 65536},
    {"--pad", offsetof(train_options, pad), 0, 64},
    {"--es-population", offsetof(train_options, es_population), 2, 100000},
};

typedef struct float_option {
    const char *name;
    size_t offset;
    float lo, hi;
} float_option;

static const float_option float_options[] = {
    {"--lr", offsetof(train_options, lr), 0, 10},
    {"--momentum", offsetof(train_options, momentum), 0, 0.9999f},
    {"--weight-decay", offsetof(train_options, weight_decay), 0, 1},
    {"--warmup", offsetof(train_options, warmup), 0, MAX_EPOCHS},
    {"--gamma", offsetof(train_options, gamma), 0, 1},
    {"--label-smoothing", offsetof(train_options, label_smoothing), 0, 0.999f},
    {"--mmi-j", offsetof(train_options, mmi_j), 0, 80},
    {"--es-sigma", offsetof(train_options, es_sigma), 1e-6f, 10},
};

/* Numeric options from the tables; *matched says whether argv[i] was one. */
static int parse_numeric(bench_opts *o, train_options *t, bool *matched)
{
    const char *v = NULL;
    *matched = true;
    for (size_t i = 0; i < sizeof int_options / sizeof int_options[0]; i++)
        if (bench_opt_value(o, int_options[i].name, &v))
            return !v || bench_parse_int(CMD, int_options[i].name, v, int_options[i].lo,
                                         int_options[i].hi,
                                         (long *)((char *)t + int_options[i].offset))
                       ? BENCH_EXIT_OK : BENCH_EXIT_USAGE;
    for (size_t i = 0; i < sizeof float_options / sizeof float_options[0]; i++)
        if (bench_opt_value(o, float_options[i].name, &v))
            return !v || parse_float(float_options[i].name, v, float_options[i].lo,
                                     float_options[i].hi,
                                     (float *)((char *)t + float_options[i].offset))
                       ? BENCH_EXIT_OK : BENCH_EXIT_USAGE;
    *matched = false;
    return BENCH_EXIT_OK;
}

/* The options with text values and --json. */
static int parse_text_option(bench_opts *o, train_options *t)
{
    const char *v = NULL;
    int n;
    if (bench_opt_flag(o, "--json")) {
        t->json = true;
    } else if (bench_opt_flag(o, "--save-best")) {
        t->save_best = true;
    } else if (bench_opt_flag(o, "--sync-bn")) {
        t->sync_bn = true;
    } else if (bench_opt_flag(o, "--aux")) {
        t->aux = true;
    } else if (bench_opt_value(o, "--model", &v)) {
        t->model = v;
    } else if (bench_opt_value(o, "--cfg", &v)) {
        t->cfg = v;
    } else if (bench_opt_value(o, "--resume", &v)) {
        t->resume = v;
    } else if (bench_opt_value(o, "--resize", &v)) {
        if (v && !training_parse_resize(CMD, v, t->resize))
            return BENCH_EXIT_USAGE;
    } else if (bench_opt_value(o, "--finetune", &v)) {
        t->finetune = v;
    } else if (bench_opt_value(o, "--freeze", &v)) {
        t->freeze = v;
    } else if (bench_opt_value(o, "--data", &v)) {
        if (v && !training_data_known(v))
            return bench_usage_error(CMD, "unknown dataset '%s' (known: %s)", v,
                                     TRAINING_DATA_NAMES);
        t->data = v;
    } else if (bench_opt_value(o, "--device", &v)) {
        t->selector = v;
    } else if (bench_opt_value(o, "--devices", &v)) {
        t->devices = v;
    } else if (bench_opt_value(o, "--data-dir", &v)) {
        t->data_dir = v;
    } else if (bench_opt_value(o, "--save", &v)) {
        t->save = v;
    } else if (bench_opt_value(o, "--optimizer", &v)) {
        if (v && !parse_enum("--optimizer", v, optim_names, 3, &t->optim))
            return BENCH_EXIT_USAGE;
    } else if (bench_opt_value(o, "--es-update", &v)) {
        if (v && !parse_enum("--es-update", v, optim_names, 2, &t->es_update))
            return BENCH_EXIT_USAGE;
    } else if (bench_opt_value(o, "--loss", &v)) {
        if (v && !parse_enum("--loss", v, loss_names, 3, &t->loss))
            return BENCH_EXIT_USAGE;
        if (t->loss == CLNET_LOSS_MSE)
            return bench_usage_error(CMD, "--loss takes xent or mmi");
    } else if (bench_opt_value(o, "--schedule", &v)) {
        if (v && !parse_enum("--schedule", v, schedule_names, 3, &n))
            return BENCH_EXIT_USAGE;
        if (v)
            t->schedule = (clnet_schedule)n;
    } else if (bench_opt_value(o, "--augment", &v)) {
        if (v && !parse_augment(v, &t->augment))
            return BENCH_EXIT_USAGE;
    } else {
        return bench_usage_error(CMD, "unknown option '%s'", o->argv[o->i]);
    }
    return BENCH_EXIT_OK;
}

static int parse_option(bench_opts *o, void *ctx)
{
    train_options *t = ctx;
    bool matched;
    int rc = parse_numeric(o, t, &matched);
    if (!matched)
        rc = parse_text_option(o, t);
    /* A missing value was reported by bench_opt_value and left v NULL. */
    return rc != BENCH_EXIT_OK || o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, train_options *t, bool *help)
{
    int rc = bench_parse_args(CMD, argc, argv, parse_option, t, help);
    if (rc != BENCH_EXIT_OK || *help)
        return rc;
    if (!t->model == !t->cfg)
        return bench_usage_error(CMD, "give --model or --cfg (one of them)");
    if (!t->data)
        return bench_usage_error(CMD, "--data is required");
    if (t->selector && t->devices)
        return bench_usage_error(CMD, "give --device or --devices, not both");
    if (t->model && !clnet_zoo_cfg(t->model))
        return training_unknown_model(CMD, t->model);
    if (!t->model)
        t->model = t->cfg;
    if ((t->save_every > 0 || t->save_best) && !t->save)
        return bench_usage_error(CMD, "--save-every and --save-best need --save FILE");
    if (t->save_best && t->val <= 0)
        return bench_usage_error(CMD, "--save-best needs a validation set (--val N)");
    if ((t->freeze || t->head > 0) && !t->finetune)
        return bench_usage_error(CMD, "--freeze and --head need --finetune CKPT");
    if (t->finetune && t->resume)
        return bench_usage_error(CMD, "--finetune starts a new run and --resume continues "
                                 "one: give one of them");
    return BENCH_EXIT_OK;
}

/* The optimizer and batch size: the cfg's [net] defaults, then the command
 * line on top. */
static int resolve_hyper(clnet_ctx *ctx, const train_options *t, const char *cfg_text,
                         clnet_optimizer *opt, int *batch)
{
    *opt = (clnet_optimizer){.kind = CLNET_OPTIM_SGD, .lr = 0.01f, .epochs = 10, .gamma = 0.1f};
    *batch = 64;
    clnet_status st = clnet_cfg_train_defaults(ctx, cfg_text, t->model, batch, opt);
    if (st != CLNET_OK)
        return bench_fail(CMD, ctx, st, "cannot read the model's training defaults");
    if (t->epochs > 0)
        opt->epochs = (int)t->epochs;
    if (t->batch > 0)
        *batch = (int)t->batch;
    if (t->optim == OPTIM_ES)
        opt->kind = t->es_update >= 0 ? (clnet_optim_kind)t->es_update : CLNET_OPTIM_ADAM;
    else if (t->optim >= 0)
        opt->kind = (clnet_optim_kind)t->optim;
    if (!isnan(t->lr))
        opt->lr = t->lr;
    if (!isnan(t->momentum))
        opt->momentum = t->momentum;
    if (!isnan(t->weight_decay))
        opt->weight_decay = t->weight_decay;
    if (!isnan(t->warmup))
        opt->warmup_epochs = t->warmup;
    if (!isnan(t->gamma))
        opt->gamma = t->gamma;
    opt->schedule = t->schedule;
    opt->step_epochs = t->step_epochs > 0 ? (int)t->step_epochs
                                          : (opt->epochs >= 3 ? opt->epochs / 3 : 1);
    return BENCH_EXIT_OK;
}

typedef struct epoch_record {
    double lr;
    clnet_eval train, val, test;
} epoch_record;

/* Everything one run needs after set-up. */
typedef struct run {
    const train_options *t;
    clnet_ctx *ctx;
    clnet_device_info dev;
    training_data data;
    clnet_dataset *val;          /* --val: held out of data.train; NULL without */
    clnet_net *net;
    device_list devices;         /* --devices; count 0 without */
    clnet_parallel *par;         /* --devices: the replicas; NULL without */
    train_dist *dist;            /* under mpirun: the job; NULL without */
    bool rank0;                  /* the one process of a run, or MPI rank 0: prints, saves */
    char *cfg_text;
    clnet_optimizer opt;
    clnet_es_params es;          /* --optimizer es: opt.es points here */
    int batch;
    uint64_t seed;               /* --seed, or the resumed run's */
    bool top5;
    int64_t train_count, test_count;
    clnet_augment augment;       /* t->augment, with the PCA of the training set */
    int pad;                     /* the border every image was framed with */
    epoch_record *curve;         /* indexed by epoch; first_epoch.. filled */
    int first_epoch;             /* 0, or where a resumed run goes on */
    int epochs_done;
    float best_val;              /* --save-best: best validation top-1 so far */
    bool diverged;               /* an epoch's loss or outputs were not finite */
    double seconds;
    FILE *log;                   /* the human-readable lines: stdout, or stderr with --json */
    char command[2048];          /* as given, for --json */
} run;

static void print_header(const run *r)
{
    int64_t params, macs, elementwise;
    clnet_net_counts(r->net, &params, &macs, &elementwise);
    const clnet_optimizer *o = &r->opt;
    fprintf(r->log, "model %s: %lld parameter%s, %.2f M MACs per image\n", r->t->model,
            (long long)params, params == 1 ? "" : "s", (double)macs * 1e-6);
    fprintf(r->log, "data %s: %lld training, %lld test images of %dx%dx%d, %d classes\n",
            r->t->data, (long long)r->train_count, (long long)r->test_count,
            r->data.train->channels, r->data.train->height, r->data.train->width,
            r->data.train->classes);
    if (r->pad > 0)
        fprintf(r->log, "padded by %d pixels on each side to %dx%d\n", r->pad,
                r->data.train->height, r->data.train->width);
    if (r->t->resize[0] > 0)
        fprintf(r->log, "resized to %dx%d (bilinear)\n", r->t->resize[0], r->t->resize[1]);
    if (r->par) {
        for (int i = 0; i < r->devices.count; i++)
            fprintf(r->log, "device %d: %s, weight %g, %d images of each batch of %d\n",
                    r->devices.info[i].index, r->devices.info[i].name,
                    (double)r->devices.weights[i], clnet_parallel_share(r->par, r->batch, i),
                    r->batch);
    } else {
        fprintf(r->log, "device %d: %s\n", r->dev.index, r->dev.name);
    }
    if (o->es)
        fprintf(r->log, "es (population %d, sigma %g: %d forward passes per step) with ",
                o->es->population, (double)o->es->sigma, o->es->population + 1);
    fprintf(r->log, "%s lr %g", optim_names[o->kind], (double)o->lr);
    if (o->kind == CLNET_OPTIM_SGD)
        fprintf(r->log, " momentum %g", (double)o->momentum);
    fprintf(r->log, " weight decay %g, %s schedule", (double)o->weight_decay,
            schedule_names[o->schedule]);
    if (o->schedule == CLNET_SCHED_STEP)
        fprintf(r->log, " (x%g every %d epochs)", (double)o->gamma, o->step_epochs);
    fprintf(r->log, ", warm-up %g epochs, batch %d, seed %llu\n", (double)o->warmup_epochs,
            r->batch, (unsigned long long)r->seed);
    if (r->t->resume)
        fprintf(r->log, "resuming %s after epoch %d of %d\n", r->t->resume, r->first_epoch,
                o->epochs);
    if (r->val)
        fprintf(r->log, "validation: the last %lld training images\n", (long long)r->val->count);
    fprintf(r->log, "epoch        lr  train_loss  train_acc%s  test_loss  test_acc%s  images/s"
                    "  train_s  test_s  wait_s\n", r->val ? "    val_acc" : "",
            r->top5 ? "  test_top5" : "");
    fflush(r->log);
}

static void print_epoch(const run *r, progress_bar *bar, int e)
{
    const epoch_record *c = &r->curve[e];
    char line[512], top5[32] = "", val[32] = "";
    if (r->top5)
        snprintf(top5, sizeof top5, "  %8.2f%%", 100.0 * c->test.top5);
    if (r->val)
        snprintf(val, sizeof val, "  %8.2f%%", 100.0 * c->val.top1);
    snprintf(line, sizeof line,
             "%5d  %8.5f  %10.4f  %8.2f%%%s  %9.4f  %7.2f%%%s  %8.1f  %7.1f  %6.1f  %6.2f\n",
             e + 1, c->lr, c->train.loss, 100.0 * c->train.top1, val, c->test.loss,
             100.0 * c->test.top1, top5, c->train.images_per_second, c->train.seconds,
             c->test.seconds, c->train.input_wait_seconds);
    progress_print(bar, r->log, line);
}

static clnet_status save_as(run *r, progress_bar *bar, const char *path)
{
    if (!r->rank0)
        return CLNET_OK;
    clnet_status st = clnet_net_save(r->net, path);
    if (st == CLNET_OK && !r->t->json) {
        char line[1100];
        snprintf(line, sizeof line, "saved %s\n", path);
        progress_print(bar, r->log, line);
    }
    return st;
}

/* --save-every and --save-best after epoch e. */
static clnet_status save_after_epoch(run *r, progress_bar *bar, int e)
{
    const train_options *t = r->t;
    const epoch_record *c = &r->curve[e];
    clnet_status st = CLNET_OK;
    if (t->save_best && c->val.top1 > r->best_val) {
        r->best_val = (float)c->val.top1;
        clnet_train_state state;
        clnet_net_train_state(r->net, &state);
        state.best_accuracy = r->best_val;
        st = clnet_net_set_train_state(r->net, &state);
        char best[1024];
        snprintf(best, sizeof best, "%s.best", t->save);
        if (st == CLNET_OK)
            st = save_as(r, bar, best);
    }
    if (st == CLNET_OK && t->save_every > 0 && (e + 1) % t->save_every == 0 &&
        e + 1 < r->opt.epochs)
        st = save_as(r, bar, t->save);
    return st;
}

static double seconds_since(double start)
{
    return bench_now_ms() / 1e3 - start;
}

static clnet_status train_epochs(run *r, progress_bar *bar)
{
    const train_options *t = r->t;
    /* a net with its own normalisation (a cfg's mean/std, a resumed
     * checkpoint's) applies it; otherwise the training split's becomes its */
    bool own = clnet_net_input_norm(r->net, NULL, NULL);
    clnet_train_opts topts = {
        .batch = r->batch, .mean = own ? NULL : r->data.mean, .std = own ? NULL : r->data.std,
        .seed = r->seed, .limit = t->limit > 0 ? (int)t->limit : 0,
        .threads = t->threads > 0 ? (int)t->threads : 0, .augment = &r->augment,
        .progress = progress_batch, .progress_user = bar,
        .resize_height = t->resize[0], .resize_width = t->resize[1],
    };
    clnet_train_opts eopts = topts;
    eopts.augment = NULL;
    eopts.progress = NULL;
    eopts.mean = eopts.std = NULL;   /* the net has them after the first epoch */
    eopts.limit = t->test_limit > 0 ? (int)t->test_limit : 0;
    if (r->par)
        eopts.batch = 0;     /* the first device evaluates, bound for its slice */
    clnet_train_opts vopts = eopts;
    vopts.limit = 0;
    double t0 = bench_now_ms() / 1e3;
    clnet_status st = CLNET_OK;
    for (int e = r->first_epoch; e < r->opt.epochs && st == CLNET_OK; e++) {
        epoch_record *c = &r->curve[e];
        topts.epoch = e;
        c->lr = clnet_optimizer_lr(&r->opt, e + 0.5);
        progress_epoch(bar, e);
        st = r->par    ? clnet_parallel_train_epoch(r->par, r->data.train, &topts, &r->opt,
                                                    &c->train)
           : r->dist ? train_dist_epoch(r->dist, r->data.train, &topts, &r->opt, &c->train)
                     : clnet_net_train_epoch(r->net, r->data.train, &topts, &r->opt, &c->train);
        double eval_start = bench_now_ms() / 1e3;
        if (st == CLNET_OK && r->val) {
            progress_evaluating(bar, "validating");
            st = clnet_net_evaluate(r->net, r->val, &vopts, &c->val);
        }
        if (st == CLNET_OK) {
            progress_evaluating(bar, "testing");
            st = clnet_net_evaluate(r->net, r->data.test, &eopts, &c->test);
        }
        progress_evaluated(bar, seconds_since(eval_start));
        if (st == CLNET_OK) {
            r->epochs_done = e + 1;
            print_epoch(r, bar, e);
            char what[64];
            snprintf(what, sizeof what, "epoch %d training", e + 1);
            bool finite = training_eval_finite(CMD, what, &c->train);
            snprintf(what, sizeof what, "epoch %d test", e + 1);
            if (!training_eval_finite(CMD, what, &c->test) || !finite) {
                r->diverged = true;
                break;
            }
            st = save_after_epoch(r, bar, e);
        }
    }
    r->seconds = bench_now_ms() / 1e3 - t0;
    return st;
}

/* The training throughput as a figure of the results schema: data loading,
 * augmentation and the optimizer included, so never compared with `run
 * --train`'s step on random data (another kind). */
static void print_figure(const run *r, double images_per_second)
{
    int64_t macs;
    char input[48];
    clnet_net_counts(r->net, NULL, &macs, NULL);
    model_input_text(r->net, input, sizeof input);
    provenance_figure fig = {
        .kind = "training", .name = r->t->model, .device = r->dev.name, .pass = "train",
        .batch = r->batch, .precision = PROVENANCE_FP32, .input = input, .macs = macs,
        .replicas = r->par ? r->devices.count : 1, .ms = 1e3 * r->batch / images_per_second,
        .ms_min = NAN, .ms_max = NAN, .images_per_second = images_per_second, .gflops = NAN,
        .status = "ok", .command = r->command};
    printf(", \"figures\": [{");
    provenance_figure_keys(stdout, &fig);
    printf("}]");
}

static void print_json(const run *r)
{
    const epoch_record *last = &r->curve[r->epochs_done - 1];
    double images = 0, train_s = 0;
    for (int e = r->first_epoch; e < r->epochs_done; e++) {
        images += (double)r->curve[e].train.count;
        train_s += r->curve[e].train.seconds;
    }
    printf("{");
    provenance_write(stdout, r->command, r->par ? r->devices.info : &r->dev,
                     r->par ? r->devices.count : 1);
    printf(", \"model\": ");
    bench_json_string(stdout, r->t->model);
    printf(", \"data\": ");
    bench_json_string(stdout, r->t->data);
    printf(", \"device_index\": %d, \"optimizer\": \"%s\", \"schedule\": \"%s\", \"lr\": %g, "
           "\"batch\": %d, \"seed\": %llu, \"train_count\": %lld, \"test_count\": %lld, "
           "\"epochs_done\": %d, \"first_epoch\": %d, ",
           r->dev.index, optim_names[r->opt.es ? OPTIM_ES : (int)r->opt.kind], schedule_names[r->opt.schedule],
           (double)r->opt.lr, r->batch, (unsigned long long)r->seed, (long long)r->train_count,
           (long long)r->test_count, r->epochs_done, r->first_epoch + 1);
    training_json_eval(stdout, "test_", &last->test, r->top5);
    training_json_eval(stdout, "train_", &last->train, false);
    train_dist_json(r->dist, stdout);
    if (r->par) {
        int64_t steps;
        double reduce;
        clnet_parallel_timing(r->par, &steps, NULL, &reduce, NULL);
        printf("\"devices\": %d, \"allreduce_ms_per_step\": %.3f, ", r->devices.count,
               steps > 0 ? reduce / (double)steps : 0.0);
    }
    printf("\"images_per_second\": ");
    training_json_number(stdout, train_s > 0 ? images / train_s : 0);
    printf(", \"seconds\": %.3f, \"wall_seconds\": %.3f, \"epochs\": [", r->seconds,
           r->seconds);
    for (int e = r->first_epoch; e < r->epochs_done; e++) {
        const epoch_record *c = &r->curve[e];
        printf("%s{\"epoch\": %d, \"lr\": %g, ", e > r->first_epoch ? ", " : "", e + 1,
               c->lr);
        training_json_eval(stdout, "train_", &c->train, false);
        training_json_eval(stdout, "test_", &c->test, r->top5);
        printf("\"images_per_second\": %.1f, \"seconds\": %.3f, \"train_seconds\": %.3f, "
               "\"test_seconds\": %.3f, \"input_wait_seconds\": %.3f}",
               c->train.images_per_second, c->train.seconds, c->train.seconds, c->test.seconds,
               c->train.input_wait_seconds);
    }
    printf("]");
    print_figure(r, train_s > 0 ? images / train_s : NAN);
    printf("}\n");
}

/* --val N: the last N training images become the validation set. */
static int split_validation(run *r)
{
    int64_t n = r->t->val, count = r->data.train->count;
    if (n <= 0)
        return BENCH_EXIT_OK;
    if (n >= count)
        return bench_usage_error(CMD, "--val %lld leaves no training images (the training split "
                                 "has %lld)", (long long)n, (long long)count);
    int64_t *idx = malloc((size_t)count * sizeof *idx);
    if (!idx) {
        fprintf(stderr, "clnet-bench train: out of host memory\n");
        return BENCH_EXIT_FAIL;
    }
    for (int64_t i = 0; i < count; i++)
        idx[i] = i;
    clnet_dataset *train = NULL;
    clnet_status st = clnet_dataset_subset(r->ctx, r->data.train, idx, count - n, &train);
    if (st == CLNET_OK)
        st = clnet_dataset_subset(r->ctx, r->data.train, idx + (count - n), n, &r->val);
    free(idx);
    if (st != CLNET_OK) {
        clnet_dataset_free(train);
        return bench_fail(CMD, r->ctx, st, "cannot split off the validation set");
    }
    clnet_dataset_free(r->data.train);
    r->data.train = train;
    return BENCH_EXIT_OK;
}

/* Where a run starts: epoch 0 with --seed, or where the --resume checkpoint
 * stopped, with its seed (training_model_new bound the net with it). */
static int resume_point(run *r)
{
    r->seed = (uint64_t)r->t->seed;
    if (!r->t->resume)
        return BENCH_EXIT_OK;
    clnet_train_state state;
    clnet_net_train_state(r->net, &state);
    if (state.epochs_done == 0)
        return bench_usage_error(CMD, "%s holds no training state (a checkpoint of format "
                                 "version 1, or saved before the first epoch): nothing to "
                                 "resume", r->t->resume);
    if (state.epochs_done >= r->opt.epochs)
        return bench_usage_error(CMD, "%s already holds %d epochs; --epochs is the total, so "
                                 "give more than %d", r->t->resume, state.epochs_done,
                                 state.epochs_done);
    r->first_epoch = state.epochs_done;
    r->seed = state.seed;
    r->best_val = state.best_accuracy;
    return BENCH_EXIT_OK;
}

/* --finetune: the model with a new head of --head outputs. */
static int set_up_finetune(run *r, clnet_device *dev)
{
    const train_options *t = r->t;
    int classes = r->data.train->classes;
    if (t->head > 0 && t->head < classes)
        return bench_usage_error(CMD, "--head %ld is fewer than the %d classes of %s", t->head,
                                 classes, t->data);
    finetune_spec f = {.checkpoint = t->finetune, .freeze = t->freeze,
                       .head = t->head > 0 ? (int)t->head : classes, .resize = t->resize};
    return finetune_model_new(CMD, r->ctx, r->cfg_text, t->model, r->data.train, &f, dev,
                              r->batch, (uint64_t)t->seed, r->log, &r->net);
}

/* Device, data and model; returns an exit code. */
/* --loss, or the net's default (training_default_loss). */
static clnet_loss chosen_loss(const clnet_net *net, const train_options *t)
{
    return t->loss >= 0 ? (clnet_loss)t->loss : training_default_loss(net);
}

static int set_up(run *r)
{
    const train_options *t = r->t;
    clnet_device *dev;
    int rc = training_cfg_text(CMD, t->model, t->cfg, &r->cfg_text);
    if (rc == BENCH_EXIT_OK)
        rc = resolve_hyper(r->ctx, t, r->cfg_text, &r->opt, &r->batch);
    if (rc == BENCH_EXIT_OK && t->devices) {
        rc = device_list_open(CMD, r->ctx, t->devices, &r->devices);
        dev = r->devices.devs[0];
        r->dev = r->devices.info[0];
    } else if (rc == BENCH_EXIT_OK) {
        rc = training_device_open(CMD, r->ctx, t->selector, &dev, &r->dev);
    }
    if (rc == BENCH_EXIT_OK)
        rc = training_data_load(CMD, r->ctx, t->data, t->data_dir, &r->data);
    if (rc == BENCH_EXIT_OK) {
        r->pad = t->pad >= 0 ? (int)t->pad
                 : t->resize[0] > 0 ? 0 : training_cfg_pad(r->ctx, r->cfg_text, r->data.train);
        if (r->pad > 0)
            rc = training_data_pad(CMD, r->ctx, &r->data, r->pad);
    }
    if (rc == BENCH_EXIT_OK)
        rc = split_validation(r);
    if (rc != BENCH_EXIT_OK)
        return rc;
    r->augment = t->augment;
    clnet_augment *a = &r->augment;
    if (a->pca_std > 0) {
        clnet_status st = clnet_dataset_pca(r->ctx, r->data.train, a->pca_eigval, a->pca_eigvec);
        if (st != CLNET_OK)
            return bench_fail(CMD, r->ctx, st, "--augment pca");
    }
    rc = t->finetune ? set_up_finetune(r, dev)
                     : training_model_new(CMD, r->ctx, r->cfg_text, t->model, r->data.train,
                                          t->resize, t->aux, t->resume, dev, r->batch, (uint64_t)t->seed, &r->net);
    if (rc == BENCH_EXIT_OK)
        rc = resume_point(r);
    if (rc != BENCH_EXIT_OK)
        return rc;
    clnet_status st = clnet_net_set_loss(r->net, chosen_loss(r->net, t),
                                         isnan(t->label_smoothing) ? 0 : t->label_smoothing);
    if (st == CLNET_OK && !isnan(t->mmi_j))
        st = clnet_net_set_mmi_j(r->net, t->mmi_j);
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "cannot set the loss");
    if (t->devices && r->dist)
        return bench_usage_error(CMD, "--devices under mpirun: each rank trains on one "
                                 "device (--device)");
    if (t->sync_bn && !t->devices && train_dist_size(r->dist) < 2)
        return bench_usage_error(CMD, "--sync-bn synchronises batch norm across the devices "
                                 "of --devices or the ranks of mpirun: give two or more");
    int rc_dist = train_dist_attach(CMD, r->ctx, r->dist, r->net, t->sync_bn);
    if (rc_dist != BENCH_EXIT_OK)
        return rc_dist;
    if (t->optim == OPTIM_ES) {
        if (t->devices)
            return bench_usage_error(CMD, "--optimizer es trains on one device (no --devices)");
        if (train_dist_size(r->dist) > 1)
            return bench_usage_error(CMD, "--optimizer es trains in one process (not under "
                                     "mpirun with more than one rank)");
        r->es = (clnet_es_params){
            .population = t->es_population > 0 ? (int)t->es_population
                                               : CLNET_ES_POPULATION_DEFAULT,
            .sigma = isnan(t->es_sigma) ? CLNET_ES_SIGMA_DEFAULT : t->es_sigma,
            .seed = r->seed};
        if (r->es.population % 2 != 0)
            return bench_usage_error(CMD, "--es-population %d is odd (it counts antithetic "
                                     "pairs twice)", r->es.population);
        r->opt.es = &r->es;
    }
    if (t->devices) {
        st = clnet_parallel_new(r->net, r->devices.devs, r->devices.count, r->devices.weights,
                                r->batch, CLNET_INIT_HE_NORMAL, r->seed, &r->par);
        if (st == CLNET_ERR_INVALID_ARGUMENT)
            return bench_usage_error(CMD, "--devices: %s", clnet_last_error(r->ctx));
        if (st != CLNET_OK)
            return bench_fail(CMD, r->ctx, st, "cannot place the replicas on --devices");
        if (t->sync_bn && r->devices.count < 2)
            return bench_usage_error(CMD, "--sync-bn with one device: there is nothing to "
                                     "synchronise (give --devices two or more)");
        st = clnet_parallel_set_sync_bn(r->par, t->sync_bn);
        if (st != CLNET_OK)
            return bench_fail(CMD, r->ctx, st, "cannot switch on --sync-bn");
    }
    r->top5 = r->data.train->classes > 10;
    r->train_count = r->data.train->count;
    if (t->limit > 0 && t->limit < r->train_count)
        r->train_count = t->limit;
    r->test_count = r->data.test->count;
    if (t->test_limit > 0 && t->test_limit < r->test_count)
        r->test_count = t->test_limit;
    r->curve = calloc((size_t)r->opt.epochs, sizeof *r->curve);
    if (!r->curve) {
        fprintf(stderr, "clnet-bench train: out of host memory\n");
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}

/* --devices: where the steps' time went. */
static void print_parallel_timing(const run *r)
{
    int64_t steps;
    double compute, reduce, step;
    clnet_parallel_timing(r->par, &steps, &compute, &reduce, &step);
    if (steps > 0)
        fprintf(r->log, "data parallel on %d devices, per step of %d images: %.2f ms forward "
                "and backward, %.2f ms all-reduce, %.2f ms optimizer step and reads (%lld "
                "steps)\n", r->devices.count, r->batch, compute / (double)steps,
                reduce / (double)steps, step / (double)steps, (long long)steps);
}

static int train(run *r)
{
    int rc = set_up(r);
    if (rc != BENCH_EXIT_OK)
        return rc;
    print_header(r);
    progress_bar bar;
    progress_start(&bar, r->first_epoch, r->opt.epochs);
    bar.on = bar.on && r->rank0;
    r->epochs_done = r->first_epoch;
    clnet_status st = train_epochs(r, &bar);
    progress_stop(&bar);
    if (st != CLNET_OK) {
        char what[64];
        snprintf(what, sizeof what, "epoch %d failed", r->epochs_done + 1);
        return bench_fail(CMD, r->ctx, st, what);
    }
    if (r->par)
        print_parallel_timing(r);
    train_dist_print_timing(r->dist, r->log, r->batch);
    if (r->diverged) {
        fprintf(stderr, "clnet-bench train: stopped after epoch %d: the loss or the outputs "
                "are not finite; nothing saved\n", r->epochs_done);
        return BENCH_EXIT_FAIL;
    }
    if (r->t->save && r->rank0) {
        st = clnet_net_save(r->net, r->t->save);
        if (st != CLNET_OK)
            return bench_fail(CMD, r->ctx, st, "cannot save the checkpoint");
        fprintf(r->log, "saved %s\n", r->t->save);
    }
    if (r->t->json && r->rank0)
        print_json(r);
    return BENCH_EXIT_OK;
}

int bench_cmd_train(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--recipe") == 0 || strncmp(argv[i], "--recipe=", 9) == 0)
            return bench_cmd_train_recipe(argc, argv);
    train_options t = {
        .epochs = -1, .batch = -1, .limit = -1, .test_limit = -1, .threads = -1,
        .step_epochs = -1, .seed = 1, .head = -1, .lr = NAN, .momentum = NAN, .weight_decay = NAN,
        .warmup = NAN, .gamma = NAN, .label_smoothing = NAN, .mmi_j = NAN, .optim = -1,
        .loss = -1, .pad = -1, .es_update = -1, .es_population = -1, .es_sigma = NAN,
    };
    bool help = false;
    int rc = parse_options(argc, argv, &t, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    run r = {.t = &t, .log = t.json ? stderr : stdout};
    training_command_line(argc, argv, r.command, sizeof r.command);
    r.ctx = bench_ctx_new(CMD);
    if (!r.ctx)
        return BENCH_EXIT_FAIL;
    rc = train_dist_join(CMD, r.ctx, &r.dist);
    /* under mpirun only rank 0 reports; the others' errors still reach stderr */
    r.rank0 = train_dist_rank(r.dist) == 0;
    FILE *quiet = r.rank0 ? NULL : fopen("/dev/null", "w");
    if (!r.rank0)
        r.log = quiet ? quiet : stderr;
    if (rc == BENCH_EXIT_OK)
        rc = train(&r);
    if (rc != BENCH_EXIT_OK)
        train_dist_fail(CMD, r.dist);
    free(r.curve);
    free(r.cfg_text);
    clnet_dataset_free(r.val);
    clnet_parallel_free(r.par);
    train_dist_free(r.dist);
    if (quiet)
        fclose(quiet);
    clnet_net_free(r.net);
    training_data_free(&r.data);
    clnet_ctx_free(r.ctx);
    return rc;
}
