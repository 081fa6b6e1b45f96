"""A small CNN (two 3x3 convolutions, max pooling, dropout, two linears) trained with Adadelta and StepLR,
as in PyTorch's MNIST example.

    python examples/mnist_cnn.py                 # offline: the 8x8 digits that ship with eagerlab
    python examples/mnist_cnn.py --data DIR      # MNIST IDX files in DIR
"""
import eagerlab as el
import eagerlab.nn as nn
import eagerlab.nn.functional as F
import eagerlab.optim as optim
from eagerlab.optim.lr_scheduler import StepLR
from eagerlab.utils.data import DataLoader

from _data import datasets, parse_args
from mnist_mlp import evaluate


class Net(nn.Module):
    def __init__(self, side):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(64 * (side // 2) ** 2, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv2(F.relu(self.conv1(x)))))
        x = self.dropout1(x).flatten(1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=8)
    el.manual_seed(0)
    train, test, side = datasets(args.data)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test, batch_size=256)
    model = Net(side).to(args.device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for images, labels in train_loader:
            images, labels = images.to(args.device), labels.to(args.device)
            optimizer.zero_grad()
            loss = F.nll_loss(model(images), labels)
            loss.backward()
            optimizer.step()
        scheduler.step()
        print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {evaluate(model, test_loader, args.device):.4f}")


if __name__ == "__main__":
    main()
