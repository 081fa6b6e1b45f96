"""What a launcher tells the processes it starts: this process's rank, the world's size, the rank on this host."""
import os

# (rank, world size, local rank) variables, by launcher: Open MPI's mpiexec, MPICH/Intel MPI (PMI), torchrun-style.
_VARIABLES = (
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"),
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"),
    ("RANK", "WORLD_SIZE", "LOCAL_RANK"),
)


def launched():
    """(rank, world size, local rank, the variables read) from the first launcher's variables set, or None when
    no launcher started this process."""
    for rank, size, local in _VARIABLES:
        if rank in os.environ and size in os.environ:
            return (int(os.environ[rank]), int(os.environ[size]), int(os.environ.get(local, os.environ[rank])),
                    f"{rank}/{size}")
    return None


def under_mpi_launcher():
    """Whether an MPI launcher (mpiexec, mpirun, srun with PMI) started this process."""
    return any(v in os.environ for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"))


LAUNCH_HINT = ("launch one process per rank with `python -m eagerlab.distributed.run -n N script.py` or "
               "`mpiexec -n N python script.py` (see docs/distributed.md)")
