"""A PyTorch program (run unchanged on eagerlab by the drop-in runner): a small network fitted to a curve by
full-batch L-BFGS with the strong-Wolfe line search, as time_sequence_prediction trains its LSTM."""
import torch
import torch.nn as nn

torch.manual_seed(0)
x = torch.linspace(-2, 2, 64, dtype=torch.double).unsqueeze(1)
y = torch.sin(2 * x) + 0.1 * x ** 2
model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)).double()
optimizer = torch.optim.LBFGS(model.parameters(), lr=1, history_size=10, max_iter=20, line_search_fn="strong_wolfe")
criterion = nn.MSELoss()
calls = 0


def closure():
    global calls
    calls += 1
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    return loss


first = None
for step in range(8):
    loss = optimizer.step(closure)
    first = loss.item() if first is None else first
with torch.no_grad():
    final = criterion(model(x), y).item()
state = optimizer.state_dict()["state"][0]
print(f"FIRST_LOSS {first:.6f}")
print(f"FINAL_LOSS {final:.6f}")
print(f"CLOSURE_CALLS {calls} N_ITER {state['n_iter']}")
