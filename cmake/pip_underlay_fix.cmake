# Make ROS 2 packages build over the PyPI ROS wheels (docs/architecture.md, "Machines and installs").
#
# The wheels' exported CMake targets name include folders of the machine that built them
# (/opt/python/cp311-cp311/include/python3.11 and its numpy include). This file, passed as
# -DCMAKE_PROJECT_INCLUDE by tools/setup.sh, rewrites every such non-existent
# INTERFACE_INCLUDE_DIRECTORIES entry of imported targets to this machine's Python and numpy
# include folders. It runs deferred, after all find_package() calls of the project, and
# changes nothing where every include folder exists (a normal ROS install).
#
# Second trap: the project-local venv lives inside this package's source folder, so the
# numpy include folder that rosidl_generator_py puts on its own target's interface would be
# exported "prefixed in the source directory", which CMake refuses. Such entries of the
# project's own targets are wrapped in $<BUILD_INTERFACE:...>: used while building here,
# never written into the installed export (consumers find numpy themselves).

function(_td3_fix_pip_underlay_includes)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  if(NOT _targets)
    return()
  endif()
  find_package(Python3 QUIET COMPONENTS Interpreter Development)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c "import numpy; print(numpy.get_include())"
    OUTPUT_VARIABLE _numpy_include OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_fixed "")
    set(_changed FALSE)
    foreach(_dir IN LISTS _dirs)
      if(_dir MATCHES "^/" AND NOT EXISTS "${_dir}")
        set(_changed TRUE)
        if(_dir MATCHES "numpy" AND _numpy_include)
          list(APPEND _fixed "${_numpy_include}")
        elseif(_dir MATCHES "include/python3" AND Python3_INCLUDE_DIRS)
          list(APPEND _fixed ${Python3_INCLUDE_DIRS})
        endif()
        # Any other missing folder is dropped: it cannot hold anything we need.
      else()
        list(APPEND _fixed "${_dir}")
      endif()
    endforeach()
    if(_changed)
      list(REMOVE_DUPLICATES _fixed)
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fixed}")
    endif()
  endforeach()
endfunction()

function(_td3_keep_venv_includes_out_of_exports)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_fixed "")
    set(_changed FALSE)
    foreach(_dir IN LISTS _dirs)
      string(FIND "${_dir}" "${CMAKE_SOURCE_DIR}/.venv/" _pos)
      if(_pos EQUAL 0)
        list(APPEND _fixed "$<BUILD_INTERFACE:${_dir}>")
        set(_changed TRUE)
      else()
        list(APPEND _fixed "${_dir}")
      endif()
    endforeach()
    if(_changed)
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fixed}")
    endif()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _td3_keep_venv_includes_out_of_exports)
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _td3_fix_pip_underlay_includes)
