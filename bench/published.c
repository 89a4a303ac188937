/* published.c - published parameter counts and MACs of the zoo's models, as
 * data with a source for each (see published.h). torchvision's figures are
 * the `num_params` and `_ops` (GFLOPS, meaning multiply-accumulates) of each
 * model's IMAGENET1K_V1 weights; "exact" MACs are the full count where the
 * source publishes a rounded one. The models torchvision lacks (the later
 * Inceptions) are compared with the parameter count of the reference
 * implementation their cfg follows. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "published.h"

#define EXACT(v) {(v), 1}
#define ROUNDED(v, unit) {(v), (unit)}
#define NONE {-1, 1}
#define M6 1000000LL
#define K10 10000LL
#define K100 100000LL

/* torchvision's GFLOPS, three decimals: thousandths of a billion MACs. */
#define GFLOPS(thousandths) ROUNDED((thousandths) * M6, M6)

#define TV(model, params, macs, source) {model, 1, 0, false, params, macs, NONE, source}
#define PAPER(model, width, res, params, macs, source) \
    {model, width, res, false, params, macs, NONE, source}

static const published_model table[] = {
    {"lenet5_1998", 1, 0, false, EXACT(60840), NONE, EXACT(340908),
     "LeCun et al. 1998, Sec. II.B: 60,000 trainable + 840 fixed RBF parameters; "
     "340,908 connections"},
    {"lenet5", 1, 0, false, EXACT(61706), NONE, NONE,
     "the modern LeNet-5 of the tutorials (padded C1, full C3, max-pool, linear output)"},
    TV("alexnet", EXACT(61100840), EXACT(714188480),
       "torchvision AlexNet_Weights (0.714 GFLOPS; MACs exact)"),
    PAPER("alexnet_2012", 1, 0, ROUNDED(60 * M6, M6), NONE,
          "Krizhevsky et al. 2012, Sec. 1: 60 million parameters"),
    TV("vgg11", EXACT(132863336), GFLOPS(7609), "torchvision VGG11_Weights"),
    TV("vgg11_bn", EXACT(132868840), GFLOPS(7609), "torchvision VGG11_BN_Weights"),
    TV("vgg13", EXACT(133047848), GFLOPS(11308), "torchvision VGG13_Weights"),
    TV("vgg13_bn", EXACT(133053736), GFLOPS(11308), "torchvision VGG13_BN_Weights"),
    TV("vgg16", EXACT(138357544), EXACT(15470264320),
       "torchvision VGG16_Weights (15.47 GFLOPS; MACs exact)"),
    TV("vgg16_bn", EXACT(138365992), GFLOPS(15470), "torchvision VGG16_BN_Weights"),
    TV("vgg19", EXACT(143667240), GFLOPS(19632), "torchvision VGG19_Weights"),
    TV("vgg19_bn", EXACT(143678248), GFLOPS(19632), "torchvision VGG19_BN_Weights"),
    TV("googlenet", EXACT(6624904), EXACT(1498376192),
       "torchvision GoogLeNet_Weights, no aux (1.498 GFLOPS; MACs exact)"),
    TV("inception_v3", EXACT(23834568), EXACT(5713216096),
       "torchvision Inception_V3_Weights less its AuxLogits (5.713 GFLOPS; MACs exact)"),
    {"inception_v3", 1, 0, true, EXACT(27161264), NONE, NONE,
     "torchvision Inception_V3_Weights (AuxLogits included)"},
    {"bn_inception", 1, 0, false, EXACT(11295240), NONE, NONE,
     "Cadene's pretrainedmodels bninception (Xiong's Caffe BN-Inception), 1000 classes"},
    {"inception_v4", 1, 0, false, EXACT(42679816), NONE, NONE,
     "timm inception_v4 (TF-slim's, 1000 classes)"},
    {"inception_resnet_v2", 1, 0, false, EXACT(55843464), NONE, NONE,
     "timm inception_resnet_v2 (TF-slim's, 1000 classes)"},
    TV("resnet18", EXACT(11689512), EXACT(1814073344),
       "torchvision ResNet18_Weights (1.814 GFLOPS; MACs exact)"),
    TV("resnet34", EXACT(21797672), GFLOPS(3664), "torchvision ResNet34_Weights"),
    TV("resnet50", EXACT(25557032), EXACT(4089184256),
       "torchvision ResNet50_Weights (4.089 GFLOPS; MACs exact)"),
    TV("resnet101", EXACT(44549160), GFLOPS(7801), "torchvision ResNet101_Weights"),
    TV("resnet152", EXACT(60192808), GFLOPS(11514), "torchvision ResNet152_Weights"),
    PAPER("resnet20", 1, 0, EXACT(269722), EXACT(40551040),
          "He et al. 2016, Table 6 (0.27M); exact counts of its option-A net"),
    PAPER("resnet32", 1, 0, ROUNDED(46 * K10, K10), NONE, "He et al. 2016, Table 6 (rounded)"),
    PAPER("resnet44", 1, 0, ROUNDED(66 * K10, K10), NONE, "He et al. 2016, Table 6 (rounded)"),
    PAPER("resnet56", 1, 0, ROUNDED(85 * K10, K10), NONE, "He et al. 2016, Table 6 (rounded)"),
    PAPER("resnet110", 1, 0, ROUNDED(17 * K100, K100), NONE,
          "He et al. 2016, Table 6 (rounded)"),
    PAPER("resnet1202", 1, 0, ROUNDED(194 * K100, K100), NONE,
          "He et al. 2016, Table 6 (rounded)"),
    TV("densenet121", EXACT(7978856), EXACT(2834161664),
       "torchvision DenseNet121_Weights (2.834 GFLOPS; MACs exact)"),
    TV("densenet169", EXACT(14149480), GFLOPS(3360), "torchvision DenseNet169_Weights"),
    TV("densenet201", EXACT(20013928), GFLOPS(4291), "torchvision DenseNet201_Weights"),
    TV("densenet161", EXACT(28681000), GFLOPS(7728), "torchvision DenseNet161_Weights"),
    TV("squeezenet1_0", EXACT(1248424), EXACT(818924576),
       "torchvision SqueezeNet1_0_Weights (0.819 GFLOPS; MACs exact)"),
    TV("squeezenet1_1", EXACT(1235496), GFLOPS(349), "torchvision SqueezeNet1_1_Weights"),
    PAPER("mobilenet_v1", 1, 224, EXACT(4231976), EXACT(568740352),
          "Howard et al. 2017, Table 6 (4.2M, 569M); exact counts"),
    PAPER("mobilenet_v1", 0.75f, 224, ROUNDED(26 * K100, K100), ROUNDED(325 * M6, M6),
          "Howard et al. 2017, Table 6 (rounded)"),
    PAPER("mobilenet_v1", 0.5f, 224, ROUNDED(13 * K100, K100), ROUNDED(149 * M6, M6),
          "Howard et al. 2017, Table 6 (rounded)"),
    PAPER("mobilenet_v1", 0.25f, 224, ROUNDED(5 * K100, K100), ROUNDED(41 * M6, M6),
          "Howard et al. 2017, Table 6 (rounded)"),
    PAPER("mobilenet_v1", 1, 192, ROUNDED(42 * K100, K100), ROUNDED(418 * M6, M6),
          "Howard et al. 2017, Table 7 (rounded)"),
    PAPER("mobilenet_v1", 1, 160, ROUNDED(42 * K100, K100), ROUNDED(290 * M6, M6),
          "Howard et al. 2017, Table 7 (rounded)"),
    PAPER("mobilenet_v1", 1, 128, ROUNDED(42 * K100, K100), ROUNDED(186 * M6, M6),
          "Howard et al. 2017, Table 7 (rounded)"),
    TV("mobilenet_v2", EXACT(3504872), EXACT(300774272),
       "torchvision MobileNet_V2_Weights (0.301 GFLOPS; MACs exact)"),
    TV("efficientnet_b0", EXACT(5288548), EXACT(385814752),
       "torchvision EfficientNet_B0_Weights (0.386 GFLOPS; MACs exact)"),
};
#define NTABLE (sizeof table / sizeof table[0])

const published_model *published_find(const char *model, float width, bool aux,
                                      bool input_overridden, int resolution)
{
    if (width <= 0)
        width = 1;
    for (size_t i = 0; i < NTABLE; i++) {
        const published_model *p = &table[i];
        bool input_ok = p->resolution ? resolution == p->resolution : !input_overridden;
        if (strcmp(p->model, model) == 0 && fabsf(p->width - width) < 1e-6f && p->aux == aux &&
            input_ok)
            return p;
    }
    return NULL;
}

bool published_agrees(const published_figure *f, int64_t computed)
{
    if (f->value < 0)
        return false;
    int64_t diff = computed > f->value ? computed - f->value : f->value - computed;
    return f->unit == 1 ? diff == 0 : diff < f->unit;
}

void published_commas(int64_t n, char *buf, unsigned size)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)n);
    int first = n < 0;              /* the minus sign is not a digit */
    unsigned o = 0;
    for (int i = 0; i < len && o + 1 < size; i++) {
        if (i > first && (len - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

void published_format(const published_figure *f, char *buf, unsigned size)
{
    if (f->value < 0) {
        snprintf(buf, size, "%s", "");
        return;
    }
    if (f->unit == 1) {
        published_commas(f->value, buf, size);
        return;
    }
    /* The suffix of the value's magnitude, and as many decimals as the unit
     * leaves published digits after it. */
    double scale = f->value >= 1000 * M6 ? 1e9 : 1e6;
    int decimals = 0;
    for (double u = (double)f->unit; u < scale; u *= 10)
        decimals++;
    snprintf(buf, size, "%.*f%s", decimals, (double)f->value / scale, scale == 1e9 ? "G" : "M");
}
